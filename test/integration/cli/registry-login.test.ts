import {chmod, lstat, mkdir, readFile, stat, symlink, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import {pushBaseImage} from '../../helpers/base-image.js'
import {freshHomes, runSlipway, type CliResult} from '../../helpers/cli.js'
import {startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'

const b64 = (u: string, p: string) => Buffer.from(`${u}:${p}`).toString('base64')
const WRONG = 'wrong-password-5e1c'

/**
 * A user's environment in a temp dir: HOME, XDG_RUNTIME_DIR and a PATH with `docker-credential-testhelper`,
 * a real helper speaking the docker credential helper protocol (get/store/erase) over a directory of
 * files. XDG_CONFIG_HOME, DOCKER_CONFIG and REGISTRY_AUTH_FILE are unset unless a test sets them, so the
 * default paths (~/.config/containers, ~/.docker) are the temp HOME's, never the real ones.
 */
interface UserEnv {
  root: string
  home: string
  runtime: string
  helperStore: string
  env(extra?: Record<string, string>): Record<string, string | undefined>
}

async function makeUserEnv(parent: string, name: string): Promise<UserEnv> {
  const root = join(parent, name)
  const home = join(root, 'home')
  const runtime = join(root, 'run')
  const bin = join(root, 'bin')
  const helperStore = join(root, 'helper-store')
  for (const d of [home, runtime, bin, helperStore]) await mkdir(d, {recursive: true})
  const helper = join(bin, 'docker-credential-testhelper')
  await writeFile(helper, `#!${process.execPath}
const fs = require('node:fs'), path = require('node:path')
const store = ${JSON.stringify(helperStore)}
const file = (url) => path.join(store, Buffer.from(url.trim()).toString('hex'))
const input = fs.readFileSync(0, 'utf8')
const action = process.argv[2]
fs.appendFileSync(path.join(store, 'calls.log'), action + '\\n')
if (action === 'store') { const doc = JSON.parse(input); fs.writeFileSync(file(doc.ServerURL), input); process.exit(0) }
if (!fs.existsSync(file(input))) { console.log('credentials not found in native keychain'); process.exit(1) }
if (action === 'get') { const doc = JSON.parse(fs.readFileSync(file(input), 'utf8')); console.log(JSON.stringify({ServerURL: doc.ServerURL, Username: doc.Username, Secret: doc.Secret})) }
if (action === 'erase') fs.unlinkSync(file(input))
`)
  await chmod(helper, 0o755)
  return {
    root, home, runtime, helperStore,
    env: (extra = {}) => ({
      HOME: home, XDG_RUNTIME_DIR: runtime, XDG_CONFIG_HOME: undefined, DOCKER_CONFIG: undefined, REGISTRY_AUTH_FILE: undefined,
      CI_REGISTRY: undefined, SLIPWAY_REGISTRY_USERNAME: undefined, SLIPWAY_REGISTRY_PASSWORD: undefined,
      PATH: `${bin}:${process.env.PATH}`, ...extra,
    }),
  }
}

async function writeJson(path: string, doc: unknown): Promise<string> {
  await mkdir(dirname(path), {recursive: true})
  await writeFile(path, JSON.stringify(doc))
  return path
}

const errorLines = (r: CliResult) => r.stderr.trim().split('\n').filter(l => l.startsWith('slipway: '))

describe('logins are read from podman/skopeo auth files and docker config, in containers-auth.json(5) order', () => {
  let reg: TestRegistry
  let tmp: string
  let n = 0
  const homes = freshHomes()

  beforeAll(async () => {
    reg = await startRegistry('tls-basic')
    await pushBaseImage(reg)
    tmp = await makeTempDir('auth-files')
  }, 60_000)
  afterAll(async () => {
    await reg?.stop()
    await homes.removeAll()
    await removeTempDir(tmp)
  })

  const good = () => ({auth: b64(reg.username!, reg.password!)})
  const bad = () => ({auth: b64(reg.username!, WRONG)})
  const user = () => makeUserEnv(tmp, `u${n++}`)
  const pull = (u: UserEnv, extra: Record<string, string> = {}, repo = 'base/busybox'): Promise<CliResult> =>
    runSlipway(['image', 'pull', `${reg.host}/${repo}:latest`], {env: {SLIPWAY_HOME: homes.home(), ...reg.env(), ...u.env(extra)}})

  const files: [string, (u: UserEnv) => Promise<Record<string, string>>][] = [
    ['REGISTRY_AUTH_FILE', async u => ({REGISTRY_AUTH_FILE: await writeJson(join(u.root, 'ci-auth.json'), {auths: {[reg.host]: good()}})})],
    ['${XDG_RUNTIME_DIR}/containers/auth.json', async u => (await writeJson(join(u.runtime, 'containers', 'auth.json'), {auths: {[reg.host]: good()}}), {})],
    ['${XDG_CONFIG_HOME}/containers/auth.json', async u => {
      await writeJson(join(u.root, 'xdg-config', 'containers', 'auth.json'), {auths: {[reg.host]: good()}})
      return {XDG_CONFIG_HOME: join(u.root, 'xdg-config')}
    }],
    ['~/.config/containers/auth.json', async u => (await writeJson(join(u.home, '.config', 'containers', 'auth.json'), {auths: {[reg.host]: good()}}), {})],
    ['$DOCKER_CONFIG/config.json', async u => {
      await writeJson(join(u.root, 'docker', 'config.json'), {auths: {[`https://${reg.host}/v1/`]: good()}})
      return {DOCKER_CONFIG: join(u.root, 'docker')}
    }],
    ['~/.docker/config.json', async u => (await writeJson(join(u.home, '.docker', 'config.json'), {auths: {[reg.host]: good()}}), {})],
    ['~/.dockercfg (legacy format)', async u => (await writeJson(join(u.home, '.dockercfg'), {[`https://${reg.host}`]: {...good(), email: 'x@example.com'}}), {})],
  ]

  it.each(files)('a login in %s is used', async (_name, setup) => {
    const u = await user()
    const r = await pull(u, await setup(u))
    if (r.code !== 0) throw new Error(`image pull exited ${r.code}: ${r.stderr}`)
  })

  it('without any login the refusal says which files were looked in', async () => {
    const u = await user()
    const auth = join(u.root, 'nothing.json')
    const r = await pull(u, {REGISTRY_AUTH_FILE: auth})
    expect(r.code).toBe(4)
    expect(errorLines(r)).toEqual([
      `slipway: ${reg.host} requires authentication for manifest ${reg.host}/base/busybox:latest and no credentials were found: ` +
      `looked in REGISTRY_AUTH_FILE=${auth}, ~/.config/containers/auth.json, ~/.docker/config.json, ~/.dockercfg; ` +
      `run slipway registry login ${reg.host}, or pass --registry-username/--registry-password`,
    ])
  })

  it('REGISTRY_AUTH_FILE replaces the XDG_RUNTIME_DIR file and wins over docker config', async () => {
    const u = await user()
    const auth = await writeJson(join(u.root, 'ci-auth.json'), {auths: {[reg.host]: bad()}})
    await writeJson(join(u.runtime, 'containers', 'auth.json'), {auths: {[reg.host]: good()}})
    await writeJson(join(u.home, '.docker', 'config.json'), {auths: {[reg.host]: good()}})
    const r = await pull(u, {REGISTRY_AUTH_FILE: auth})
    expect(r.code).toBe(4)
    expect(errorLines(r)[0]).toContain(`with the credentials from auth file ${auth}: `)
    expect(r.stderr).not.toContain(WRONG)
  })

  it('the XDG_RUNTIME_DIR file wins over ~/.config and docker config; an empty entry there is passed over', async () => {
    const u = await user()
    const runtimeFile = await writeJson(join(u.runtime, 'containers', 'auth.json'), {auths: {[reg.host]: bad()}})
    await writeJson(join(u.home, '.docker', 'config.json'), {auths: {[reg.host]: good()}})
    const refused = await pull(u)
    expect(refused.code).toBe(4)
    expect(errorLines(refused)[0]).toContain(`with the credentials from auth file ${runtimeFile}: `)

    await writeJson(runtimeFile, {auths: {[reg.host]: {}}})
    const r = await pull(u)
    if (r.code !== 0) throw new Error(`image pull exited ${r.code}: ${r.stderr}`)
  })

  it('a host/namespace key wins over the host key for a repository under it, and only there', async () => {
    const u = await user()
    const file = join(u.root, 'auth.json')
    await writeJson(file, {auths: {[reg.host]: bad(), [`${reg.host}/base`]: good()}})
    const inNamespace = await pull(u, {REGISTRY_AUTH_FILE: file})
    if (inNamespace.code !== 0) throw new Error(`image pull exited ${inNamespace.code}: ${inNamespace.stderr}`)
    const elsewhere = await pull(u, {REGISTRY_AUTH_FILE: file}, 'other/busybox')
    expect(elsewhere.code).toBe(4)
    expect(errorLines(elsewhere)[0]).toContain(`with the credentials from auth file ${file}: `)

    await writeJson(file, {auths: {[reg.host]: good(), [`${reg.host}/base/busybox`]: bad()}})
    const specific = await pull(u, {REGISTRY_AUTH_FILE: file})
    expect(specific.code).toBe(4)
    expect(errorLines(specific)[0]).toContain(`with the credentials from auth file ${file} (entry ${reg.host}/base/busybox): `)
  })

  it('a credential helper named in auth.json is used', async () => {
    const u = await user()
    await writeFile(join(u.helperStore, Buffer.from(reg.host).toString('hex')), JSON.stringify({ServerURL: reg.host, Username: reg.username, Secret: reg.password}))
    const file = await writeJson(join(u.root, 'auth.json'), {auths: {[reg.host]: bad()}, credHelpers: {[reg.host]: 'testhelper'}})
    const r = await pull(u, {REGISTRY_AUTH_FILE: file})
    if (r.code !== 0) throw new Error(`image pull exited ${r.code}: ${r.stderr}`)
    expect(await readFile(join(u.helperStore, 'calls.log'), 'utf8')).toBe('get\n')
  })

  it('a malformed file is one line naming it', async () => {
    const u = await user()
    const file = join(u.home, '.config', 'containers', 'auth.json')
    await mkdir(dirname(file), {recursive: true})
    await writeFile(file, '{"auths": {')
    const r = await pull(u)
    expect(r.code).toBe(4)
    expect(errorLines(r)).toHaveLength(1)
    expect(errorLines(r)[0]).toMatch(new RegExp(`^slipway: auth file ${file.replace(/[.]/g, '\\.')} is not valid: .*: fix or remove the file$`))
  })
})

describe('registry login to a registry that asks for no credentials', () => {
  let reg: TestRegistry
  let tmp: string
  beforeAll(async () => {
    reg = await startRegistry('plain')
    tmp = await makeTempDir('login-plain')
  })
  afterAll(async () => {
    await reg?.stop()
    await removeTempDir(tmp)
  })

  it('saves them with a warning that they were not checked', async () => {
    const u = await makeUserEnv(tmp, 'u')
    const r = await runSlipway(['registry', 'login', reg.host, '-u', 'anyone', '--password-stdin', '--json'], {input: 'some-password', env: u.env()})
    if (r.code !== 0) throw new Error(`registry login exited ${r.code}: ${r.stderr}`)
    expect(r.stderr).toBe(`warning: ${reg.host} asks for no credentials: saved them unchecked\n`)
    expect(JSON.parse(r.stdout)).toMatchObject({checked: false, file: join(u.home, '.docker', 'config.json')})
  })
})

describe.each(['tls-basic', 'token'] as const)('registry login and logout (%s registry)', variant => {
  let reg: TestRegistry
  let tmp: string
  let n = 0
  const homes = freshHomes()

  beforeAll(async () => {
    reg = await startRegistry(variant)
    await pushBaseImage(reg)
    tmp = await makeTempDir('login')
  }, 60_000)
  afterAll(async () => {
    await reg?.stop()
    await homes.removeAll()
    await removeTempDir(tmp)
  })

  const slipway = (u: UserEnv, args: string[], opts: {input?: string; env?: Record<string, string>; home?: string} = {}): Promise<CliResult> =>
    runSlipway(args, {env: {SLIPWAY_HOME: opts.home ?? homes.home(), ...reg.env(), ...u.env(opts.env)}, ...(opts.input === undefined ? {} : {input: opts.input})})
  const ok = (r: CliResult, what: string): CliResult => {
    if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr}`)
    return r
  }
  const secretsIn = (r: CliResult) => [reg.password!, b64(reg.username!, reg.password!)].filter(s => `${r.stdout}${r.stderr}`.includes(s))

  it('round trip: login keeps the other keys of config.json, 0600; pushes need no flags; logout; then the refusal says what was tried', async () => {
    const u = await makeUserEnv(tmp, `u${n++}`)
    const config = join(u.home, '.docker', 'config.json')
    const others = {
      auths: {'other.example': {auth: b64('o', 'other-pass')}},
      credHelpers: {'helped.example': 'nothing'},
      proxies: {default: {httpProxy: 'http://proxy.example:3128'}},
      'slipway-unknown-key': [1, 2, 3],
    }
    await writeJson(config, others)

    const login = ok(await slipway(u, ['registry', 'login', reg.host, '-u', reg.username!, '--password-stdin', '--debug'], {input: `${reg.password}\n`}), 'registry login')
    expect(login.stdout).toBe('')
    expect(login.stderr).toContain(`logged in to ${reg.host} as ${reg.username}: saved in ${config}`)
    expect(secretsIn(login)).toEqual([])
    expect((await stat(config)).mode & 0o777).toBe(0o600)
    const saved = JSON.parse(await readFile(config, 'utf8')) as typeof others
    expect(saved).toEqual({...others, auths: {...others.auths, [reg.host]: {auth: b64(reg.username!, reg.password!)}}})

    const home = homes.home()
    ok(await slipway(u, ['image', 'pull', `${reg.host}/base/busybox:latest`, '--name', 'base'], {home}), 'image pull')
    const pushed = ok(await slipway(u, ['image', 'push', 'base', `${reg.host}/copy/busybox:1`, '--debug'], {home}), 'image push')
    expect(secretsIn(pushed)).toEqual([])

    const logout = ok(await slipway(u, ['registry', 'logout', reg.host, '--json']), 'registry logout')
    expect(JSON.parse(logout.stdout)).toEqual({registry: reg.host, key: reg.host, file: config, removed: true, elsewhere: []})
    expect(JSON.parse(await readFile(config, 'utf8'))).toEqual(others)
    const again = ok(await slipway(u, ['registry', 'logout', reg.host]), 'registry logout')
    expect(again.stderr).toContain(`not logged in to ${reg.host} in ${config}`)

    const refused = await slipway(u, ['image', 'push', 'base', `${reg.host}/copy/busybox:2`], {home})
    expect(refused.code).toBe(4)
    expect(errorLines(refused)).toHaveLength(1)
    expect(errorLines(refused)[0]).toContain(
      `and no credentials were found: looked in ${join(u.runtime, 'containers', 'auth.json')}, ~/.config/containers/auth.json, ~/.docker/config.json, ~/.dockercfg; run slipway registry login ${reg.host}`)
  }, 120_000)

  it('a wrong password is refused in one line and nothing is written', async () => {
    const u = await makeUserEnv(tmp, `u${n++}`)
    const config = join(u.home, '.docker', 'config.json')
    const r = await slipway(u, ['registry', 'login', reg.host, '-u', reg.username!, '--password-stdin', '--debug'], {input: WRONG})
    expect(r.code).toBe(4)
    expect(errorLines(r)).toEqual([`slipway: the registry refused ${reg.username} at ${reg.host}: check the user name and password (or token); nothing was saved`])
    expect(`${r.stdout}${r.stderr}`).not.toContain(WRONG)
    await expect(stat(config)).rejects.toMatchObject({code: 'ENOENT'})

    const before = await writeJson(config, {auths: {'other.example': {auth: b64('o', 'p')}}})
    const bytes = await readFile(before)
    // HOST defaults to the GitLab CI registry of the job
    const ci = await slipway(u, ['registry', 'login', '-u', reg.username!, '--password-stdin'], {input: WRONG, env: {CI_REGISTRY: reg.host}})
    expect(errorLines(ci)).toEqual([`slipway: the registry refused ${reg.username} at ${reg.host}: check the user name and password (or token); nothing was saved`])
    expect(await readFile(config)).toEqual(bytes)

    const noHost = await slipway(u, ['registry', 'login', '-u', reg.username!, '--password-stdin'], {input: reg.password})
    expect(noHost.code).toBe(2)
    expect(errorLines(noHost)).toEqual(['slipway: name the registry to log in to: e.g. slipway registry login registry.example.com -u USER --password-stdin'])
  })

  it('a registry whose CA is not trusted: one TLS line and nothing saved; --insecure-registry HOST logs in', async () => {
    const u = await makeUserEnv(tmp, `u${n++}`)
    const config = join(u.home, '.docker', 'config.json')
    const untrusted = (extra: string[]) => runSlipway(['registry', 'login', reg.host, '-u', reg.username!, '--password-stdin', ...extra], {
      env: {SLIPWAY_HOME: homes.home(), ...u.env(), SLIPWAY_CA_FILE: undefined}, input: reg.password!,
    })
    const refused = await untrusted([])
    expect(refused.code).not.toBe(0)
    expect(errorLines(refused)).toHaveLength(1)
    expect(errorLines(refused)[0]).toMatch(/certificate/)
    await expect(stat(config)).rejects.toMatchObject({code: 'ENOENT'})
    // the bare host matches every port: the token variant's issuer listens on another one
    ok(await untrusted(['--insecure-registry', '127.0.0.1']), 'registry login --insecure-registry')
    expect(Object.keys((JSON.parse(await readFile(config, 'utf8')) as {auths: object}).auths)).toEqual([reg.host])
  })

  it('a broken config.json is refused before anything is sent, and left as it was', async () => {
    const u = await makeUserEnv(tmp, `u${n++}`)
    const config = join(u.home, '.docker', 'config.json')
    await mkdir(dirname(config), {recursive: true})
    await writeFile(config, '{"auths": {"a": ')
    const before = reg.tokenIssuer?.requests.length
    const r = await slipway(u, ['registry', 'login', reg.host, '-u', reg.username!, '--password-stdin'], {input: reg.password})
    expect(r.code).toBe(4)
    expect(errorLines(r)[0]).toMatch(/^slipway: docker config .*config\.json is not valid: /)
    expect(reg.tokenIssuer?.requests.length).toBe(before)
    expect(await readFile(config, 'utf8')).toBe('{"auths": {"a": ')
  })

  it('-p works, with a warning that it shows in the process list; --json gives the result; --auth-file writes an auth.json', async () => {
    const u = await makeUserEnv(tmp, `u${n++}`)
    const file = join(u.root, 'auth.json')
    const r = ok(await slipway(u, ['registry', 'login', reg.host, '-u', reg.username!, '-p', reg.password!, '--auth-file', file, '--json']), 'registry login')
    expect(r.stderr).toContain('warning: a password given with -p/--password shows in the process list')
    expect(JSON.parse(r.stdout)).toEqual({registry: reg.host, key: reg.host, username: reg.username, file, checked: true})
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({auths: {[reg.host]: {auth: b64(reg.username!, reg.password!)}}})
    ok(await slipway(u, ['image', 'pull', `${reg.host}/base/busybox:latest`], {env: {REGISTRY_AUTH_FILE: file}}), 'image pull')
  })

  it('a symlinked config.json is written where it points; logout names the logins it leaves in other files', async () => {
    const u = await makeUserEnv(tmp, `u${n++}`)
    const real = await writeJson(join(u.root, 'dotfiles', 'docker-config.json'), {auths: {}})
    await mkdir(join(u.home, '.docker'), {recursive: true})
    await symlink(real, join(u.home, '.docker', 'config.json'))
    ok(await slipway(u, ['registry', 'login', reg.host, '-u', reg.username!, '--password-stdin'], {input: reg.password}), 'registry login')
    expect((await lstat(join(u.home, '.docker', 'config.json'))).isSymbolicLink()).toBe(true)
    expect(JSON.parse(await readFile(real, 'utf8'))).toEqual({auths: {[reg.host]: {auth: b64(reg.username!, reg.password!)}}})

    const podman = await writeJson(join(u.runtime, 'containers', 'auth.json'), {auths: {[reg.host]: {auth: b64(reg.username!, reg.password!)}}})
    const logout = ok(await slipway(u, ['registry', 'logout', reg.host]), 'registry logout')
    expect(logout.stderr).toBe(`logged out of ${reg.host}: removed from ${join(u.home, '.docker', 'config.json')}\nauth file ${podman} still holds credentials for ${reg.host}\n`)
    expect(JSON.parse(await readFile(real, 'utf8'))).toEqual({auths: {}})
  })

  it('a credential helper the file names stores the login and erases it on logout', async () => {
    const u = await makeUserEnv(tmp, `u${n++}`)
    const config = await writeJson(join(u.home, '.docker', 'config.json'), {credsStore: 'testhelper'})
    const login = ok(await slipway(u, ['registry', 'login', reg.host, '-u', reg.username!, '--password-stdin'], {input: `${reg.password}\n`}), 'registry login')
    expect(login.stderr).toContain(`stored by docker-credential-testhelper (named in ${config})`)
    expect(await readFile(config, 'utf8')).not.toContain(b64(reg.username!, reg.password!))
    ok(await slipway(u, ['image', 'pull', `${reg.host}/base/busybox:latest`]), 'image pull')
    const logout = ok(await slipway(u, ['registry', 'logout', reg.host, '--json']), 'registry logout')
    expect(JSON.parse(logout.stdout)).toMatchObject({removed: true, helper: 'docker-credential-testhelper'})
    expect(await readFile(join(u.helperStore, 'calls.log'), 'utf8')).toBe('store\nget\nerase\n')
  })
})
