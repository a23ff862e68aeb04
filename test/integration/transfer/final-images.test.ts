import {join} from 'node:path'

import {sha256Digest} from '../../../src/oci/digest.js'
import {pushBaseImage, runSkopeo} from '../../helpers/base-image.js'
import {freshHome, runSlipway} from '../../helpers/cli.js'
import {type FaultProxy, match, startFaultProxy} from '../../helpers/fault-proxy.js'
import {makeProject, type TestProject} from '../../helpers/project.js'
import {getRawManifest, startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {runImage} from '../../helpers/run-image.js'
import {removeTempDir} from '../../helpers/tmp.js'

/**
 * Final images and the copy engine, against a real registry behind a counting proxy: bytes are counted on
 * the registry's side of the wire (FaultProxy.blobBytes), never from slipway's report.
 *
 * The stage layer is 200 MiB of random data (incompressible, so the wire carries all of it; `dd` from
 * /dev/urandom takes about a second) in an uncompressed layer, so no gzip time is spent on it.
 */
const LAYER_MIB = 200
const DAPPFILE = `dimg: big
from: localhost:5000/base/busybox:latest
shell:
  install:
    - dd if=/dev/urandom of=/big bs=1048576 count=${LAYER_MIB} 2>/dev/null
    - echo made-by-install > /marker
docker:
  CMD: [cat, /marker]
`
/** Config blobs, manifests' worth of slack: anything above this moved a layer. */
const SMALL = 64 * 1024

interface PushJson {
  images: {image: string; digest: string; madeFrom: string}[]
  stages: {status: string}[]
  blobs: {uploaded: number; copied: number; mounted: number; exists: number; bytesUploaded: number; bytesDownloaded: number}
}

describe('final images and uploads: every layer crosses the wire at most once', () => {
  let reg: TestRegistry
  let proxy: FaultProxy
  let project: TestProject
  let layerSize = 0
  let localFinal = ''
  const homes: string[] = []
  const home = (): string => {
    const h = freshHome()
    homes.push(h)
    return h
  }
  const repo = (name: string): string => `${proxy.host}/${name}`
  const slipway = async (h: string, args: string[], env: Record<string, string> = {}) => {
    const r = await runSlipway([...args, '--dir', project.dir, '--json'], {env: {SLIPWAY_HOME: h, ...env}, timeoutMs: 300_000})
    if (r.code !== 0) throw new Error(`slipway ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return JSON.parse(r.stdout)
  }
  /** Runs `fn` and returns the blob bytes the registry received and sent meanwhile. */
  const counted = async <T>(fn: () => Promise<T>): Promise<{result: T; uploaded: number; downloaded: number}> => {
    const since = proxy.requests.length
    const result = await fn()
    return {result, ...proxy.blobBytes(since)}
  }
  let builder: string

  beforeAll(async () => {
    reg = await startRegistry('plain')
    proxy = await startFaultProxy({upstream: reg.url})
    await pushBaseImage(reg)
    project = await makeProject({registryHost: proxy.host, dappfile: DAPPFILE, name: 'bigproject'})
    builder = home()
  }, 60_000)
  afterAll(async () => {
    await proxy?.stop()
    await reg?.stop()
    for (const h of homes) await removeTempDir(h)
  })

  it('bp --with-stages uploads a 200 MiB stage layer once: the final image mounts it from REPO', async () => {
    const {result, uploaded} = await counted(() => slipway(builder, ['dimg', 'bp', repo('one'), '--with-stages', '--compression', 'none']))
    const final = await getRawManifest(reg, 'one/big', 'latest')
    const layers = (JSON.parse(final.bytes.toString()) as {layers: {size: number}[]}).layers
    layerSize = Math.max(...layers.map(l => l.size))
    expect(layerSize).toBeGreaterThan(LAYER_MIB * 1024 * 1024)
    // the one big layer once, plus configs; the base layer is mounted from base/busybox
    expect(uploaded).toBeGreaterThanOrEqual(layerSize)
    expect(uploaded).toBeLessThan(layerSize + SMALL)
    expect(result.bytesUploaded).toBe(uploaded)
    expect(result.push.images[0].madeFrom).toBe('local')
    localFinal = result.push.images[0].digest
    expect(sha256Digest(final.bytes)).toBe(localFinal) // REPO/big:latest is the image pushed
  }, 300_000)

  it('stages pulled from one repository and pushed to another of the registry are mounted, not uploaded', async () => {
    const puller = home()
    const pulled = await slipway(puller, ['dimg', 'stages', 'pull', repo('one')]) as PushJson
    const {result, uploaded} = await counted(() => slipway(puller, ['dimg', 'stages', 'push', repo('two')]))
    expect(uploaded).toBeLessThan(SMALL)
    const pushed = result as PushJson
    // stages pull without --all took big's last stage only: that one is pushed, the two not here are skipped
    expect(pulled.stages).toHaveLength(1)
    expect(pushed.stages.map(s => s.status).sort()).toEqual(['pushed', 'skipped', 'skipped'])
    expect(pushed.blobs.mounted).toBeGreaterThanOrEqual(2)
    expect(pushed.blobs.bytesUploaded).toBe(0)
  }, 120_000)

  it('push REPO from an empty store makes the final image in the registry: no layer bytes, same digest as a local push, and it runs', async () => {
    const fresh = home()
    const {result, uploaded, downloaded} = await counted(() => slipway(fresh, ['dimg', 'push', repo('two')]))
    const pushed = result as PushJson
    expect(pushed.images).toEqual([expect.objectContaining({image: `${repo('two')}/big:latest`, madeFrom: 'registry', digest: localFinal})])
    expect({uploaded: uploaded < SMALL, downloaded: downloaded < SMALL}).toEqual({uploaded: true, downloaded: true})
    expect(pushed.blobs.mounted).toBeGreaterThanOrEqual(2)

    const inspect = JSON.parse((await runSkopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/two/big:latest`])).stdout)
    expect(inspect.Digest).toBe(localFinal)
    expect(inspect.Labels['dev.slipway.final.dimg']).toBe('big')
    const runner = home()
    const r = await runSlipway(['image', 'pull', `${repo('two')}/big:latest`, '--name', 'big'], {env: {SLIPWAY_HOME: runner}})
    expect(r.code).toBe(0)
    expect(await runImage(join(runner, 'store'), 'big')).toBe('made-by-install\n')

    // spush from the same empty store: REPO itself gets the final image, every layer already there
    const spush = (await counted(() => slipway(fresh, ['dimg', 'spush', 'big', repo('two'), '--tag', 'solo']))).result as PushJson
    expect(spush.images).toEqual([expect.objectContaining({image: `${repo('two')}:solo`, madeFrom: 'registry', digest: localFinal})])
    expect(spush.blobs.bytesUploaded).toBeLessThan(SMALL)
    // the plain output ends with the run's transfer line
    const plain = await runSlipway(['dimg', 'push', repo('two'), '--dir', project.dir], {env: {SLIPWAY_HOME: fresh}})
    expect(plain.code).toBe(0)
    expect(plain.stderr.trimEnd().split('\n').at(-1)).toBe('uploaded 0 B, mounted 0 blobs, downloaded 0 B')
  }, 300_000)

  it('a registry that refuses the mount gets the layer copied registry to registry, streamed through, counted', async () => {
    await slipway(builder, ['dimg', 'stages', 'push', repo('three')])
    const refuse = proxy.add(match.mount, {kind: 'rewrite-path', path: p => p.replace(/\?.*$/, '')})
    try {
      const fresh = home()
      const {result, uploaded, downloaded} = await counted(() => slipway(fresh, ['dimg', 'push', repo('three')]))
      const pushed = result as PushJson
      expect(refuse.hits).toBe(3) // a mount asked for each blob of the final image: two layers and the config
      expect(pushed.images[0]).toEqual(expect.objectContaining({madeFrom: 'registry', digest: localFinal}))
      expect(pushed.blobs.copied).toBeGreaterThanOrEqual(2)
      // every layer once down from REPO and once up into REPO/big, and the result says so
      expect(downloaded).toBeGreaterThanOrEqual(layerSize)
      expect(downloaded).toBeLessThan(layerSize + 2 * 1024 * 1024)
      expect(uploaded).toBe(pushed.blobs.bytesUploaded)
      expect(pushed.blobs.bytesDownloaded).toBeLessThanOrEqual(downloaded)
      expect(pushed.blobs.bytesDownloaded).toBeGreaterThanOrEqual(layerSize)
    } finally {
      proxy.clear()
    }
    const inspect = JSON.parse((await runSkopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/three/big:latest`])).stdout)
    expect(inspect.Digest).toBe(localFinal)
  }, 300_000)

  it('a registry that answers HEAD with 404 for what it has is asked again with GET: nothing is re-uploaded, no stage tag rewritten', async () => {
    const lie = proxy.add(m => m.method === 'HEAD' && /\/(manifests|blobs)\//.test(m.path), {
      kind: 'replace',
      rewrite: () => ({status: 404, headers: {'content-type': 'application/json'}, body: Buffer.alloc(0)}),
    })
    try {
      const env = {SLIPWAY_HEAD_CONFIRM_REGISTRIES: proxy.host}
      const manifestPuts = proxy.count(match.manifestPut)
      const {result, uploaded} = await counted(() => slipway(builder, ['dimg', 'push', repo('one'), '--with-stages'], env))
      const pushed = result as PushJson
      expect(lie.hits).toBe(4) // the three stages' manifests and the final tag's, each confirmed with a GET
      expect(pushed.stages.every(s => s.status === 'exists')).toBe(true)
      expect(uploaded).toBe(0)
      expect(pushed.blobs.uploaded).toBe(0)
      // the final tag already names the same manifest (its HEAD confirmed with GET): no tag is written
      expect(proxy.count(match.manifestPut) - manifestPuts).toBe(0)
      expect(pushed.images.map(i => i.digest)).toEqual([expect.stringMatching(/^sha256:/)])
    } finally {
      proxy.clear()
    }
  }, 120_000)
})
