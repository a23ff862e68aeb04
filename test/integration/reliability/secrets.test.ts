import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runSlipway, type CliResult} from '../../helpers/cli.js'
import {startFaultProxy, type FaultProxy} from '../../helpers/fault-proxy.js'
import {makeProject, type TestProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'

/**
 * Every registry command with --debug against registries that want credentials (htpasswd basic auth
 * over TLS, and token auth): no password, no base64 user:password and no token the issuer handed out may
 * appear in anything slipway prints. The tokens are the ones slipway actually sent: the proxy in front of
 * the registry records every Authorization header.
 */
describe.each(['tls-basic', 'token'] as const)('no secret in any output (%s registry)', variant => {
  const setup = useRegistry({variant, base: true})
  let proxy: FaultProxy
  let project: TestProject
  let repo: string
  let dockerConfigDir: string
  const outputs: {args: string[]; r: CliResult}[] = []

  beforeAll(async () => {
    proxy = await startFaultProxy({upstream: setup.reg.url, caFile: setup.reg.caFile})
    repo = `${proxy.host}/secret/app`
    project = await makeProject({registryHost: proxy.host, dappfile: 'from: localhost:5000/base/busybox:latest\nshell:\n  install: [echo hi > /hi]\ndocker:\n  CMD: [cat, /hi]\n'})
    dockerConfigDir = await makeTempDir('docker-config')
    await writeFile(join(dockerConfigDir, 'config.json'), JSON.stringify({
      auths: {[proxy.host]: {auth: Buffer.from(`${setup.reg.username}:${setup.reg.password}`).toString('base64')}},
    }))
  }, 60_000)
  afterAll(async () => {
    await proxy?.stop()
    await removeTempDir(dockerConfigDir)
  })

  type Source = 'flags' | 'env' | 'docker-config'
  const run = async (home: string, args: string[], source: Source): Promise<CliResult> => {
    const env: Record<string, string | undefined> = {SLIPWAY_HOME: home, ...setup.reg.env(), DOCKER_CONFIG: join(home, 'no-docker-config')}
    let full = [...args, '--debug']
    if (source === 'flags') full = [...full, '--registry-username', setup.reg.username!, '--registry-password', setup.reg.password!]
    if (source === 'env') Object.assign(env, {SLIPWAY_REGISTRY_USERNAME: setup.reg.username, SLIPWAY_REGISTRY_PASSWORD: setup.reg.password})
    if (source === 'docker-config') env.DOCKER_CONFIG = dockerConfigDir
    const r = await runSlipway(full, {env, timeoutMs: 120_000})
    outputs.push({args: full, r})
    return r
  }

  it('runs every registry command with --debug, credentials from flags, env and docker config.json', async () => {
    const dir = ['--dir', project.dir]
    const home = setup.freshHome()
    await mkdir(join(home, 'no-docker-config'), {recursive: true})
    const steps: [string[], Source][] = [
      [['image', 'pull', `${proxy.host}/base/busybox:latest`, '--name', 'base'], 'flags'],
      [['image', 'push', 'base', `${repo}/copied:1`], 'env'],
      [['image', 'list'], 'env'],
      [['dimg', 'stages', 'pull', repo, ...dir], 'docker-config'],
      [['dimg', 'bp', repo, '--with-stages', ...dir], 'flags'],
      [['dimg', 'build', ...dir], 'env'],
      [['dimg', 'push', repo, '--tag', 'pushed', ...dir], 'docker-config'],
      [['dimg', 'spush', `${repo}/single`, ...dir], 'env'],
      [['dimg', 'stages', 'push', repo, ...dir], 'flags'],
      [['dimg', 'stages', 'pull', repo, '--all', ...dir], 'env'],
      [['dimg', 'stages', 'list', 'repo', repo, ...dir], 'docker-config'],
      [['dimg', 'stages', 'list', 'local', ...dir], 'env'],
      [['dimg', 'stages', 'cleanup', 'repo', repo, '--improper-repo-cache', ...dir], 'flags'],
      [['dimg', 'stages', 'cleanup', 'local', repo, '--improper-repo-cache', ...dir], 'docker-config'],
      [['dimg', 'stages', 'flush', 'repo', repo, '--dry-run', ...dir], 'env'],
      [['dimg', 'cleanup'], 'env'],
      [['store', 'verify'], 'env'],
    ]
    for (const [args, source] of steps) {
      const r = await run(home, args, source)
      if (r.code !== 0) throw new Error(`slipway ${args.join(' ')} (${source}) exited ${r.code}: ${r.stderr.slice(-2000)}`)
    }
    // the debug output does show the HTTP exchanges, so there was something to leak
    expect(outputs.some(o => /GET http:\/\/127\.0\.0\.1:\d+\/v2\//.test(o.r.stderr))).toBe(true)
  }, 300_000)

  it('a refused password is reported without echoing it', async () => {
    const home = setup.freshHome()
    const wrong = `wrong-${setup.reg.password}-x`
    const r = await runSlipway(['image', 'pull', `${proxy.host}/base/busybox:latest`, '--debug', '--registry-username', setup.reg.username!, '--registry-password', wrong], {env: {SLIPWAY_HOME: home, ...setup.reg.env()}})
    expect(r.code).toBe(4)
    expect(`${r.stdout}${r.stderr}`).not.toContain(wrong)
    expect(`${r.stdout}${r.stderr}`).not.toContain(Buffer.from(`${setup.reg.username}:${wrong}`).toString('base64'))
  })

  it('no output holds the password, user:password in base64, or any credential slipway sent', () => {
    const sent = new Set<string>()
    for (const q of proxy.requests) {
      const auth = q.headers.authorization
      if (auth) sent.add(auth.replace(/^\w+\s+/, ''))
    }
    // slipway did authenticate through the proxy (basic: the base64 pair; token: bearer tokens)
    if (variant === 'token') {
      // bearer tokens only, each one the issuer issued; how many is not a count to pin: the issuer also
      // serves the setup's pushes and what reaches the registry without the proxy
      const issued = new Set(setup.reg.tokenIssuer!.requests.flatMap(t => (t.token ? [t.token] : [])))
      expect(sent.size).toBeGreaterThan(0)
      expect([...sent].filter(s => !issued.has(s))).toEqual([])
    } else {
      expect(sent).toContain(Buffer.from(`${setup.reg.username}:${setup.reg.password}`).toString('base64'))
    }
    const secrets = [setup.reg.password!, Buffer.from(`${setup.reg.username}:${setup.reg.password}`).toString('base64'), ...sent]
    expect(outputs.length).toBeGreaterThanOrEqual(17)
    for (const {args, r} of outputs) {
      const text = `${r.stdout}\n${r.stderr}`
      for (const s of secrets) {
        if (text.includes(s)) throw new Error(`slipway ${args.join(' ')} printed a secret (${s.slice(0, 6)}…)`)
        // a token is long: also no sizeable piece of it
        if (s.length > 40 && text.includes(s.slice(-32))) throw new Error(`slipway ${args.join(' ')} printed part of a token`)
      }
    }
  })
})
