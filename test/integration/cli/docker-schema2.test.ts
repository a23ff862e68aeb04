import {join} from 'node:path'

import {pushBaseImage, runSkopeo} from '../../helpers/base-image.js'
import {freshHome, runSlipway} from '../../helpers/cli.js'
import {type FaultProxy, match, startFaultProxy} from '../../helpers/fault-proxy.js'
import {makeProject} from '../../helpers/project.js'
import {startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {runImage} from '../../helpers/run-image.js'
import {removeTempDir} from '../../helpers/tmp.js'

/** A registry that refuses OCI manifests (as some older ones do) gets Docker schema 2 manifests. */
describe('pushing to a registry that refuses OCI manifests', () => {
  let reg: TestRegistry
  let proxy: FaultProxy
  const homes: string[] = []

  beforeAll(async () => {
    reg = await startRegistry('plain')
    await pushBaseImage(reg)
    proxy = await startFaultProxy({upstream: reg.url})
    const ociPut = (req: {method: string; path: string; headers: Record<string, unknown>}) =>
      req.method === 'PUT' && /\/manifests\//.test(req.path) && String(req.headers['content-type']).startsWith('application/vnd.oci.')
    proxy.add(ociPut, {
      kind: 'status',
      status: 400,
      body: JSON.stringify({errors: [{code: 'MANIFEST_INVALID', message: 'manifest invalid', detail: 'unsupported media type'}]}),
    })
  })
  afterAll(async () => {
    await proxy.stop()
    await reg.stop()
    for (const h of homes) await removeTempDir(h)
  })

  it('falls back to Docker schema 2 once, and what it pushed pulls back and runs', async () => {
    const project = await makeProject({registryHost: reg.host, fromExample: true, name: 'legacy'})
    const home = freshHome()
    homes.push(home)
    const repo = `${proxy.host}/legacy`
    expect((await runSlipway(['dimg', 'build', '--dir', project.dir], {env: {SLIPWAY_HOME: home}})).code).toBe(0)
    const pushed = await runSlipway(['dimg', 'push', 'worker', repo, '--with-stages', '--json', '--dir', project.dir], {env: {SLIPWAY_HOME: home}})
    expect(pushed.code).toBe(0)
    expect(pushed.stderr.match(/refuses OCI manifests/g)).toHaveLength(1)
    const raw = JSON.parse((await runSkopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/legacy/worker:latest`])).stdout)
    expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json')
    expect(raw.config.mediaType).toBe('application/vnd.docker.container.image.v1+json')
    expect(raw.layers.every((l: {mediaType: string}) => l.mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe(true)
    // only a few OCI attempts were refused: after the first refusal every manifest went as schema 2
    const refused = proxy.count(req => req.method === 'PUT' && /\/manifests\//.test(req.path) && String(req.headers['content-type']).startsWith('application/vnd.oci.'))
    expect(refused).toBeLessThanOrEqual(8)
    expect(proxy.count(match.manifestPut)).toBeGreaterThan(refused)

    // a fresh host pulls the schema 2 stages, builds nothing, and the final image runs
    const fresh = freshHome()
    homes.push(fresh)
    expect((await runSlipway(['dimg', 'stages', 'pull', 'worker', repo, '--dir', project.dir], {env: {SLIPWAY_HOME: fresh}})).code).toBe(0)
    const build = await runSlipway(['dimg', 'build', 'worker', '--json', '--dir', project.dir], {env: {SLIPWAY_HOME: fresh}})
    expect(JSON.parse(build.stdout).built).toBe(0)
    expect((await runSlipway(['image', 'pull', `${repo}/worker:latest`, '--name', 'w'], {env: {SLIPWAY_HOME: fresh}})).code).toBe(0)
    expect(await runImage(join(fresh, 'store'), 'w')).toContain('worker example')
  }, 180_000)
})
