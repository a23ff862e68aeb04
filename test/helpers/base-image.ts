import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdir, writeFile} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'
import type {TestRegistry} from './registry.js'
import {makeTempDir} from './tmp.js'

const run = promisify(execFile)
const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/make-base-image.sh')
const LAYOUT_TAG = 'latest'

/**
 * The busybox base image from fixtures/make-base-image.sh, built once per test process (and per
 * `dataBytes`: with dataBytes > 0 it carries a second layer of that many random bytes, /opt/base-data.bin).
 * `dir` is an OCI image layout holding it under the tag `tag`; `ref` is its containers-transport
 * reference `oci:DIR:latest` (for skopeo/buildah). Shared: treat it as read-only, copy it to change it.
 */
export interface BaseImageLayout {
  dir: string
  tag: string
  ref: string
}

const layouts = new Map<number, Promise<BaseImageLayout>>()

export function baseImageLayout(dataBytes = 0): Promise<BaseImageLayout> {
  let layout = layouts.get(dataBytes)
  if (!layout) {
    layout = (async () => {
      const dir = join(await makeTempDir('base-image'), 'layout')
      try {
        await run(SCRIPT, [dir, LAYOUT_TAG], {env: {...process.env, BASE_DATA_BYTES: String(dataBytes)}})
      } catch (error) {
        layouts.delete(dataBytes)
        const stderr = (error as {stderr?: string}).stderr ?? ''
        throw new Error(`${SCRIPT} failed: ${stderr.trim() || String(error)}`)
      }
      return {dir, tag: LAYOUT_TAG, ref: `oci:${dir}:${LAYOUT_TAG}`}
    })()
    layouts.set(dataBytes, layout)
  }
  return layout
}

/** Runs skopeo (without a signature policy: test images are unsigned); the error carries its stderr. */
export async function runSkopeo(args: string[]): Promise<{stdout: string; stderr: string}> {
  try {
    return await run('skopeo', ['--insecure-policy', ...args], {maxBuffer: 64 * 1024 * 1024})
  } catch (error) {
    const stderr = (error as {stderr?: string}).stderr ?? ''
    throw new Error(`skopeo ${args[0]} failed: ${stderr.trim() || String(error)}`)
  }
}

/** Pushes the base image (with a `dataBytes` layer, see baseImageLayout) to `reg` as HOST/repoPath:tag and returns that reference. */
export async function pushBaseImage(reg: TestRegistry, repoPath = 'base/busybox', tag = 'latest', dataBytes = 0): Promise<string> {
  const {ref: source} = await baseImageLayout(dataBytes)
  const target = `${reg.host}/${repoPath}:${tag}`
  await runSkopeo(['copy', '--quiet', ...reg.skopeoFlags('dest'), source, `docker://${target}`])
  return target
}

/** Pushes an image of the uncompressed layers given, bottom first (e.g. a hostile tar from ./tar.ts), as
 *  HOST/hostile/NAME:latest and returns that reference. */
export async function pushLayerImage(reg: TestRegistry, name: string, layer: Buffer | Buffer[]): Promise<string> {
  const layers = Array.isArray(layer) ? layer : [layer]
  const layout = join(await makeTempDir('layer-image'), 'layout')
  const blobs = join(layout, 'blobs', 'sha256')
  await mkdir(blobs, {recursive: true})
  const put = async (data: Buffer): Promise<string> => {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`
    await writeFile(join(blobs, digest.slice(7)), data)
    return digest
  }
  const layerDigests = await Promise.all(layers.map(put))
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {Env: ['PATH=/bin'], Cmd: ['/bin/sh']},
    rootfs: {type: 'layers', diff_ids: layerDigests},
    history: layers.map(() => ({created_by: name})),
  }))
  const configDigest = await put(config)
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length},
    layers: layers.map((l, i) => ({mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigests[i], size: l.length})),
  }))
  const manifestDigest = await put(manifest)
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
  await writeFile(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifestDigest, size: manifest.length, annotations: {'org.opencontainers.image.ref.name': 'latest'}}],
  }))
  const target = `${reg.host}/hostile/${name}:latest`
  await runSkopeo(['copy', '--quiet', ...reg.skopeoFlags('dest'), `oci:${layout}:latest`, `docker://${target}`])
  return target
}
