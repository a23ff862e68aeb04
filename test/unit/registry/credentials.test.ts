import {chmodSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {redactSecrets} from '../../../src/redact.js'
import {findCredential} from '../../../src/registry/auth/credentials.js'
import {normalizeRegistryHost} from '../../../src/registry/auth/auth-file.js'
import {resolveOptions} from '../../../src/registry/options.js'
import {makeTempDirSync} from '../../helpers/tmp.js'

let dir: string
beforeAll(() => {
  dir = makeTempDirSync('creds')
  // A real credential helper speaking the docker helper protocol.
  writeFileSync(join(dir, 'docker-credential-fake'), `#!/bin/sh
read server
case "$server" in
  helper.example) echo '{"ServerURL":"helper.example","Username":"hu","Secret":"helper-secret-1"}' ;;
  token.example) echo '{"ServerURL":"token.example","Username":"<token>","Secret":"identity-xyz-1"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`)
  chmodSync(join(dir, 'docker-credential-fake'), 0o755)
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    auths: {
      'https://cfg.example/v1/': {auth: Buffer.from('cu:config-pass-1').toString('base64')},
      'oauth.example': {identitytoken: 'idtoken-from-config'},
      'https://index.docker.io/v1/': {auth: Buffer.from('hub:hub-pass-1').toString('base64')},
    },
    credHelpers: {'helper.example': 'fake', 'token.example': 'fake', 'missing.example': 'nonexistent'},
  }))
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

// HOME and XDG_RUNTIME_DIR point at the temp dir too: the auth files under them are never the real ones
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({DOCKER_CONFIG: dir, HOME: dir, XDG_RUNTIME_DIR: dir, PATH: `${dir}:${process.env.PATH}`, ...extra})

describe('findCredential', () => {
  it('reads config.json auths, identity tokens and docker.io aliases', async () => {
    const opts = resolveOptions({env: env()})
    expect(await findCredential('cfg.example', opts)).toMatchObject({kind: 'basic', username: 'cu', password: 'config-pass-1'})
    expect(await findCredential('oauth.example', opts)).toMatchObject({kind: 'identity-token', token: 'idtoken-from-config'})
    expect(await findCredential('docker.io', opts)).toMatchObject({kind: 'basic', username: 'hub'})
    expect(await findCredential('other.example', opts)).toBeUndefined()
    expect(redactSecrets('pw config-pass-1')).toBe('pw ***')
  })

  it('runs credential helpers, with <token> meaning an identity token', async () => {
    const opts = resolveOptions({env: env()})
    expect(await findCredential('helper.example', opts)).toMatchObject({kind: 'basic', username: 'hu', password: 'helper-secret-1', source: expect.stringMatching(/^the credential helper docker-credential-fake \(named in .*config.json\)$/)})
    expect(await findCredential('token.example', opts)).toMatchObject({kind: 'identity-token', token: 'identity-xyz-1'})
    expect(redactSecrets('x helper-secret-1 identity-xyz-1')).toBe('x *** ***')
  })

  it('says clearly when a configured helper is not installed', async () => {
    await expect(findCredential('missing.example', resolveOptions({env: env()}))).rejects.toMatchObject({
      kind: 'auth', message: expect.stringContaining('docker-credential-nonexistent'),
    })
  })

  it('prefers explicit credentials, then GitLab CI variables, then config.json', async () => {
    const ci = {CI_REGISTRY: 'cfg.example', CI_REGISTRY_USER: 'gitlab-ci-token', CI_JOB_TOKEN: 'job-token-1'}
    expect(await findCredential('cfg.example', resolveOptions({env: env(ci), credentials: {username: 'flag', password: 'flag-pass', registry: 'cfg.example'}})))
      .toMatchObject({username: 'flag', source: 'the --registry-username/--registry-password flags'})
    expect(await findCredential('cfg.example', resolveOptions({env: env(ci), credentials: {username: 'flag', password: 'p', registry: 'elsewhere.example'}})))
      .toMatchObject({username: 'gitlab-ci-token', password: 'job-token-1', source: 'the GitLab CI variables CI_REGISTRY_USER/CI_JOB_TOKEN'})
    expect(await findCredential('cfg.example', resolveOptions({env: env({...ci, CI_REGISTRY: 'gitlab.example'})})))
      .toMatchObject({username: 'cu'})
  })

  it('rejects a broken config.json with the file named', async () => {
    const bad = makeTempDirSync('badcfg')
    writeFileSync(join(bad, 'config.json'), '{not json')
    await expect(findCredential('x.example', resolveOptions({env: {DOCKER_CONFIG: bad, HOME: bad, XDG_RUNTIME_DIR: bad}}))).rejects.toMatchObject({kind: 'auth', message: expect.stringContaining(join(bad, 'config.json'))})
    rmSync(bad, {recursive: true})
  })
})

describe('normalizeRegistryHost', () => {
  it('strips schemes and paths and folds docker hub aliases', () => {
    expect(normalizeRegistryHost('https://Reg.Example:5000/v2/')).toBe('reg.example:5000')
    expect(normalizeRegistryHost('index.docker.io')).toBe('docker.io')
  })
})
