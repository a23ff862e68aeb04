import {chmod, mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runSlipway, type CliResult} from '../../helpers/cli.js'
import {startFaultProxy, type FaultProxy} from '../../helpers/fault-proxy.js'
import {makeProject, type TestProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`

async function dockerConfig(dir: string, config: object): Promise<string> {
  await mkdir(dir, {recursive: true})
  await writeFile(join(dir, 'config.json'), JSON.stringify(config))
  return dir
}

/**
 * A CI job pushing to registry B with --registry-username/--registry-password (or their variables) for B
 * builds on a base image from registry A, which has credentials of its own in docker config.json. Both
 * are real htpasswd registries behind logging proxies: A must never see B's credentials, and the run works.
 */
describe("explicit credentials are for REPO's registry only", () => {
  const registryA = useRegistry({variant: 'tls-basic', base: true})
  const registryB = useRegistry({variant: 'tls-basic'})
  let proxyA: FaultProxy
  let proxyB: FaultProxy
  let project: TestProject
  let tmp: string
  let configForA: string

  beforeAll(async () => {
    proxyA = await startFaultProxy({upstream: registryA.reg.url, caFile: registryA.reg.caFile})
    proxyB = await startFaultProxy({upstream: registryB.reg.url, caFile: registryB.reg.caFile})
    project = await makeProject({registryHost: proxyA.host, dappfile: 'from: localhost:5000/base/busybox:latest\nshell:\n  install: [echo hi > /hi]\n'})
    tmp = await makeTempDir('creds')
    configForA = await dockerConfig(join(tmp, 'config-a'), {auths: {[proxyA.host]: {auth: Buffer.from(`${registryA.reg.username}:${registryA.reg.password}`).toString('base64')}}})
  }, 60_000)
  afterAll(async () => {
    await proxyA?.stop()
    await proxyB?.stop()
    await removeTempDir(tmp)
  })

  const run = (args: string[], given: 'flags' | 'environment', dockerConfigDir: string): Promise<CliResult> => {
    const env: Record<string, string> = {SLIPWAY_HOME: registryA.freshHome(), DOCKER_CONFIG: dockerConfigDir}
    if (given === 'environment') Object.assign(env, {SLIPWAY_REGISTRY_USERNAME: registryB.reg.username, SLIPWAY_REGISTRY_PASSWORD: registryB.reg.password})
    const flags = given === 'flags' ? ['--registry-username', registryB.reg.username!, '--registry-password', registryB.reg.password!] : []
    return runSlipway([...args, '--dir', project.dir, ...flags], {env, timeoutMs: 120_000})
  }
  /** Authorization headers A received that are not A's own credentials. */
  const foreignOnA = () => proxyA.requests.map(r => r.headers.authorization).filter(a => a !== undefined && a !== basic(registryA.reg.username!, registryA.reg.password!))

  it.each(['flags', 'environment'] as const)('dimg bp to B with B credentials from %s: A gets its own credentials only', async given => {
    const r = await run(['dimg', 'bp', `${proxyB.host}/app`, '--with-stages'], given, configForA)
    if (r.code !== 0) throw new Error(`dimg bp exited ${r.code}: ${r.stderr.slice(-1500)}`)
    expect(proxyA.requests.some(q => q.headers.authorization === basic(registryA.reg.username!, registryA.reg.password!))).toBe(true)
    expect(proxyB.requests.some(q => q.headers.authorization === basic(registryB.reg.username!, registryB.reg.password!))).toBe(true)
    expect(foreignOnA()).toEqual([])
  }, 180_000)

  it('dimg build (no REPO) sends B credentials in the environment nowhere', async () => {
    const r = await run(['dimg', 'build'], 'environment', configForA)
    if (r.code !== 0) throw new Error(`dimg build exited ${r.code}: ${r.stderr.slice(-1500)}`)
    expect(foreignOnA()).toEqual([])
  }, 180_000)

  it('without a config for A, A refuses with one line saying whom the flags are for', async () => {
    // a REPO with no stages: B/app has them all from the runs above, and a bp finding them there needs nothing from A
    const r = await run(['dimg', 'bp', `${proxyB.host}/app-without-stages`], 'flags', join(tmp, 'no-config'))
    expect(r.code).toBe(4)
    // the progress line of the failed stage, then the error
    const lines = r.stderr.trim().split('\n').filter(l => l.startsWith('slipway: '))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^${escape(
      `slipway: ${proxyA.host} requires authentication for manifest ${proxyA.host}/base/busybox:latest and no credentials were found: ` +
      `the --registry-username/--registry-password flags are only for ${proxyB.host}; for ${proxyA.host} looked in `)}.*${escape(
      `, ${join(tmp, 'no-config', 'config.json')}, ~/.dockercfg: run slipway registry login ${proxyA.host}`)}$`))
    expect(foreignOnA()).toEqual([])
  }, 180_000)
})

/**
 * A refused credential is reported with where it came from (flag, variable, GitLab CI variables, the
 * config file's path, the helper's name) and without the secret, for basic auth and for the token flow.
 */
describe.each(['tls-basic', 'token'] as const)('an authentication error names the source of the credentials (%s)', variant => {
  const setup = useRegistry({variant, base: true})
  let proxy: FaultProxy
  let tmp: string
  const wrong = 'not-the-password-7f3a'

  beforeAll(async () => {
    proxy = await startFaultProxy({upstream: setup.reg.url, caFile: setup.reg.caFile})
    tmp = await makeTempDir('creds-source')
    const helperDir = join(tmp, 'bin')
    await mkdir(helperDir)
    const helper = join(helperDir, 'docker-credential-slipwaytest')
    await writeFile(helper, `#!/bin/sh\ncat >/dev/null\necho '{"Username":"${setup.reg.username}","Secret":"${wrong}"}'\n`)
    await chmod(helper, 0o755)
  }, 60_000)
  afterAll(async () => {
    await proxy?.stop()
    await removeTempDir(tmp)
  })

  const pull = async (args: string[], env: Record<string, string>): Promise<CliResult> => {
    return runSlipway(['image', 'pull', `${proxy.host}/base/busybox:latest`, ...args], {
      env: {SLIPWAY_HOME: setup.freshHome(), ...setup.reg.env(), DOCKER_CONFIG: join(tmp, 'none'), ...env},
    })
  }

  const cases: [string, () => Promise<{args?: string[]; env?: Record<string, string>; source: string}>][] = [
    ['flags', async () => ({args: ['--registry-username', setup.reg.username!, '--registry-password', wrong], source: 'the --registry-username/--registry-password flags'})],
    ['environment', async () => ({env: {SLIPWAY_REGISTRY_USERNAME: setup.reg.username!, SLIPWAY_REGISTRY_PASSWORD: wrong}, source: 'SLIPWAY_REGISTRY_USERNAME/SLIPWAY_REGISTRY_PASSWORD'})],
    ['GitLab CI variables', async () => ({
      env: {CI_REGISTRY: proxy.host, CI_REGISTRY_USER: setup.reg.username!, CI_JOB_TOKEN: wrong}, source: 'the GitLab CI variables CI_REGISTRY_USER/CI_JOB_TOKEN',
    })],
    ['docker config', async () => {
      const dir = await dockerConfig(join(tmp, 'auths'), {auths: {[proxy.host]: {auth: Buffer.from(`${setup.reg.username}:${wrong}`).toString('base64')}}})
      return {env: {DOCKER_CONFIG: dir}, source: `docker config ${join(dir, 'config.json')}`}
    }],
    ['credential helper', async () => {
      const dir = await dockerConfig(join(tmp, 'helpers'), {credHelpers: {[proxy.host]: 'slipwaytest'}})
      return {env: {DOCKER_CONFIG: dir, PATH: `${join(tmp, 'bin')}:${process.env.PATH}`}, source: `the credential helper docker-credential-slipwaytest (named in ${join(dir, 'config.json')})`}
    }],
  ]

  it.each(cases)('%s', async (_name, make) => {
    const {args = [], env = {}, source} = await make()
    const r = await pull(args, env)
    expect(r.code).toBe(4)
    const lines = r.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^slipway: authentication to ${proxy.host.replace(/\./g, '\\.')} failed for .* with the credentials from `))
    expect(lines[0]).toContain(`with the credentials from ${source}: `)
    expect(`${r.stdout}${r.stderr}`).not.toContain(wrong)
    expect(`${r.stdout}${r.stderr}`).not.toContain(Buffer.from(`${setup.reg.username}:${wrong}`).toString('base64'))
  })
})
