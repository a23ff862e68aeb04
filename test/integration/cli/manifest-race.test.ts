import {runSlipway} from '../../helpers/cli.js'
import {type FaultProxy, match, startFaultProxy} from '../../helpers/fault-proxy.js'
import {useRegistry} from '../../helpers/registry.js'

const BLOB_UNKNOWN = JSON.stringify({errors: [{code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: 'sha256:0'}]})

/**
 * Two hosts linking the same blob into one repository make distribution answer a manifest PUT with
 * MANIFEST_BLOB_UNKNOWN for a moment (seen with concurrent `bp --with-stages`): the push tries again.
 */
describe('a manifest PUT racing with another writer', () => {
  const setup = useRegistry({base: true})
  let proxy: FaultProxy

  beforeAll(async () => {
    proxy = await startFaultProxy({upstream: setup.reg.url})
    expect((await runSlipway(['image', 'pull', setup.base, '--name', 'base'], {env: {SLIPWAY_HOME: setup.home}})).code).toBe(0)
  })
  afterAll(async () => {
    await proxy.stop()
  })

  it('is tried again and succeeds', async () => {
    const rule = proxy.add(match.manifestPut, {kind: 'status', status: 400, body: BLOB_UNKNOWN}, 2)
    const r = await runSlipway(['image', 'push', 'base', `${proxy.host}/race/one:1`, '--json', '--quiet'], {env: {SLIPWAY_HOME: setup.home}})
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(rule.hits).toBe(2)
    expect(proxy.count(match.manifestPut)).toBe(3)
  })

  it('gives up with one clear line when the blob really is missing', async () => {
    proxy.clear()
    proxy.add(match.manifestPut, {kind: 'status', status: 400, body: BLOB_UNKNOWN})
    const r = await runSlipway(['image', 'push', 'base', `${proxy.host}/race/two:1`, '--json', '--quiet'], {env: {SLIPWAY_HOME: setup.home}})
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^slipway: .*MANIFEST_BLOB_UNKNOWN/)
  })
})
