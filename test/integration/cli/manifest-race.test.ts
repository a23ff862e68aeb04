import {pushBaseImage} from '../../helpers/base-image.js'
import {freshHome, runSlipway} from '../../helpers/cli.js'
import {type FaultProxy, match, startFaultProxy} from '../../helpers/fault-proxy.js'
import {startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {removeTempDir} from '../../helpers/tmp.js'

const BLOB_UNKNOWN = JSON.stringify({errors: [{code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: 'sha256:0'}]})

/**
 * Two hosts linking the same blob into one repository make distribution answer a manifest PUT with
 * MANIFEST_BLOB_UNKNOWN for a moment (seen with concurrent `bp --with-stages`): the push tries again.
 */
describe('a manifest PUT racing with another writer', () => {
  let reg: TestRegistry
  let proxy: FaultProxy
  let home: string

  beforeAll(async () => {
    reg = await startRegistry('plain')
    proxy = await startFaultProxy({upstream: reg.url})
    home = freshHome()
    const base = await pushBaseImage(reg)
    expect((await runSlipway(['image', 'pull', base, '--name', 'base'], {env: {SLIPWAY_HOME: home}})).code).toBe(0)
  })
  afterAll(async () => {
    await proxy.stop()
    await reg.stop()
    await removeTempDir(home)
  })

  it('is tried again and succeeds', async () => {
    const rule = proxy.add(match.manifestPut, {kind: 'status', status: 400, body: BLOB_UNKNOWN}, 2)
    const r = await runSlipway(['image', 'push', 'base', `${proxy.host}/race/one:1`, '--json', '--quiet'], {env: {SLIPWAY_HOME: home}})
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(rule.hits).toBe(2)
    expect(proxy.count(match.manifestPut)).toBe(3)
  })

  it('gives up with one clear line when the blob really is missing', async () => {
    proxy.clear()
    proxy.add(match.manifestPut, {kind: 'status', status: 400, body: BLOB_UNKNOWN})
    const r = await runSlipway(['image', 'push', 'base', `${proxy.host}/race/two:1`, '--json', '--quiet'], {env: {SLIPWAY_HOME: home}})
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^slipway: .*MANIFEST_BLOB_UNKNOWN/)
  })
})
