import {execFile} from 'node:child_process'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'
import type {TestRegistry} from './registry.js'
import {makeTempDir} from './tmp.js'

const run = promisify(execFile)
const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/make-base-image.sh')
const LAYOUT_TAG = 'latest'

/**
 * The busybox base image from fixtures/make-base-image.sh, built once per test process.
 * `dir` is an OCI image layout holding it under the tag `tag`; `ref` is its containers-transport
 * reference `oci:DIR:latest` (for skopeo/buildah). Shared: treat it as read-only, copy it to change it.
 */
export interface BaseImageLayout {
  dir: string
  tag: string
  ref: string
}

let layout: Promise<BaseImageLayout> | undefined

export function baseImageLayout(): Promise<BaseImageLayout> {
  layout ??= (async () => {
    const dir = join(await makeTempDir('base-image'), 'layout')
    try {
      await run(SCRIPT, [dir, LAYOUT_TAG])
    } catch (error) {
      layout = undefined
      const stderr = (error as {stderr?: string}).stderr ?? ''
      throw new Error(`${SCRIPT} failed: ${stderr.trim() || String(error)}`)
    }
    return {dir, tag: LAYOUT_TAG, ref: `oci:${dir}:${LAYOUT_TAG}`}
  })()
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

/** Pushes the base image to `reg` as HOST/repoPath:tag and returns that reference. */
export async function pushBaseImage(reg: TestRegistry, repoPath = 'base/busybox', tag = 'latest'): Promise<string> {
  const {ref: source} = await baseImageLayout()
  const target = `${reg.host}/${repoPath}:${tag}`
  await runSkopeo(['copy', '--quiet', ...reg.skopeoFlags('dest'), source, `docker://${target}`])
  return target
}
