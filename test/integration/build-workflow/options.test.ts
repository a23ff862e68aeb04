import {pushBaseImage, runSkopeo} from '../../helpers/base-image.js'
import {freshHome} from '../../helpers/cli.js'
import {makeProject} from '../../helpers/project.js'
import {startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {removeTempDir} from '../../helpers/tmp.js'
import {build, buildEnv, builtStages, readBlob, storeDir, storeRefs} from './support.js'

/** Build options that change what is built or how layers are written. */
describe('dimg build options', () => {
  let reg: TestRegistry
  const homes: string[] = []
  const home = () => {
    const h = freshHome()
    homes.push(h)
    return h
  }

  beforeAll(async () => {
    reg = await startRegistry('plain')
    await pushBaseImage(reg)
    await pushBaseImage(reg, 'base/moving', 'latest')
  })
  afterAll(async () => {
    await reg.stop()
    for (const h of homes) await removeTempDir(h)
  })

  it('fromLatest rebuilds when the base tag moves; a plain from does not', async () => {
    const dappfile = (latest: boolean) => `from: localhost:5000/base/moving:latest\nfromLatest: ${latest}\nshell:\n  install: [echo hi > /hi]\n`
    const latest = await makeProject({registryHost: reg.host, dappfile: dappfile(true), name: 'latest'})
    const pinned = await makeProject({registryHost: reg.host, dappfile: dappfile(false), name: 'pinned'})
    const h = home()
    expect(builtStages(await build(latest.dir, buildEnv(reg, h)), 'latest')).toEqual(['from', 'install'])
    expect(builtStages(await build(pinned.dir, buildEnv(reg, h)), 'pinned')).toEqual(['from', 'install'])
    // the tag now points at another image (the busybox image with one more layer, written by skopeo from a slipway stage)
    const installed = (await storeRefs(h)).find(n => n.startsWith('dimgstage-latest:'))!
    await runSkopeo(['copy', '--dest-tls-verify=false', `oci:${storeDir(h)}:${installed}`, `docker://${reg.host}/base/moving:latest`])
    expect(builtStages(await build(latest.dir, buildEnv(reg, h)), 'latest')).toEqual(['from', 'install'])
    expect(builtStages(await build(pinned.dir, buildEnv(reg, h)), 'pinned')).toEqual([])
  })

  it('--compression none writes uncompressed layers that skopeo reads', async () => {
    const project = await makeProject({registryHost: reg.host, dappfile: 'from: localhost:5000/base/busybox:latest\nshell:\n  install: [echo plain > /plain]\n', name: 'plain'})
    const h = home()
    const report = await build(project.dir, buildEnv(reg, h), ['--compression', 'none'])
    const last = report.dimgs[0].signature
    const raw = JSON.parse((await runSkopeo(['inspect', '--raw', `oci:${storeDir(h)}:dimgstage-plain:${last}`])).stdout)
    expect(raw.layers.at(-1).mediaType).toBe('application/vnd.oci.image.layer.v1.tar')
    // the base layer keeps its own (gzip) media type
    expect(raw.layers[0].mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip')
    const layer = await readBlob(h, raw.layers.at(-1).digest)
    expect(layer.subarray(257, 262).toString()).toBe('ustar')
  })
})
