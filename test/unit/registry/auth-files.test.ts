import {authFileEntry, authKeysFor, normalizeAuthKey, parseAuthFile, withLogin, withoutLogin} from '../../../src/registry/auth/auth-file.js'
import {type AuthFile, authFiles, loginFile} from '../../../src/registry/auth/auth-files.js'
import {parseLoginTarget} from '../../../src/workflows/registry-login.js'

const b64 = (s: string) => Buffer.from(s).toString('base64')
const file: AuthFile = {path: '/x/auth.json', kind: 'containers', legacy: false, shown: '/x/auth.json'}

describe('authFiles', () => {
  it('reads in containers-auth.json(5) order: primary, XDG config, docker config, ~/.dockercfg', () => {
    expect(authFiles({HOME: '/h', XDG_RUNTIME_DIR: '/run/user/7'}).map(f => f.path)).toEqual([
      '/run/user/7/containers/auth.json', '/h/.config/containers/auth.json', '/h/.docker/config.json', '/h/.dockercfg',
    ])
    expect(authFiles({HOME: '/h', XDG_RUNTIME_DIR: '/r', XDG_CONFIG_HOME: '/cfg', DOCKER_CONFIG: '/d'}).map(f => f.path)).toEqual([
      '/r/containers/auth.json', '/cfg/containers/auth.json', '/d/config.json', '/h/.dockercfg',
    ])
  })

  it('REGISTRY_AUTH_FILE replaces the primary file, as podman and skopeo take it', () => {
    const files = authFiles({HOME: '/h', XDG_RUNTIME_DIR: '/r', REGISTRY_AUTH_FILE: '/ci/auth.json'})
    expect(files.map(f => f.shown)).toEqual(['REGISTRY_AUTH_FILE=/ci/auth.json', '~/.config/containers/auth.json', '~/.docker/config.json', '~/.dockercfg'])
    expect(files.map(f => f.legacy)).toEqual([false, false, false, true])
  })

  it('without XDG_RUNTIME_DIR the primary file is /run/containers/UID/auth.json', () => {
    expect(authFiles({HOME: '/h'})[0].path).toBe(`/run/containers/${process.getuid!()}/auth.json`)
  })

  it('login writes docker config.json unless a file is named', () => {
    expect(loginFile({HOME: '/h'})).toMatchObject({path: '/h/.docker/config.json', kind: 'docker'})
    expect(loginFile({HOME: '/h', DOCKER_CONFIG: '/d'})).toMatchObject({path: '/d/config.json', kind: 'docker'})
    expect(loginFile({HOME: '/h'}, '/ci/auth.json')).toMatchObject({path: '/ci/auth.json', kind: 'containers'})
  })
})

describe('auth file keys', () => {
  it('a repository looks up its keys most specific first', () => {
    expect(authKeysFor('reg.example:5000', 'ns/sub/app')).toEqual(['reg.example:5000/ns/sub/app', 'reg.example:5000/ns/sub', 'reg.example:5000/ns', 'reg.example:5000'])
    expect(authKeysFor('Reg.Example')).toEqual(['reg.example'])
  })

  it('URL keys and legacy keys name hosts; other paths are namespaces', () => {
    expect(normalizeAuthKey('https://index.docker.io/v1/')).toBe('docker.io')
    expect(normalizeAuthKey('http://reg.example:5000/v2/')).toBe('reg.example:5000')
    expect(normalizeAuthKey('reg.example/team/app/')).toBe('reg.example/team/app')
    expect(normalizeAuthKey('reg.example/team', true)).toBe('reg.example')
  })

  const doc = parseAuthFile(file, JSON.stringify({
    auths: {
      'reg.example': {auth: b64('host:host-pass')},
      'reg.example/team': {auth: b64('team:team-pass')},
      'reg.example/team/app': {},
      'https://other.example/v1/': {auth: b64('o:other-pass')},
    },
  }))
  const user = (repo?: string, host = 'reg.example') => {
    const e = authFileEntry(file, doc, host, repo)
    return e?.kind === 'basic' ? `${e.username} ${e.key}` : e?.kind
  }

  it('a namespace key wins for repositories under it only; an empty entry is passed over', () => {
    expect(user('team/app')).toBe('team reg.example/team')
    expect(user('team/app/sub')).toBe('team reg.example/team')
    expect(user('teamster/app')).toBe('host reg.example')
    expect(user('other/app')).toBe('host reg.example')
    expect(user()).toBe('host reg.example')
    expect(user('x', 'other.example')).toBe('o https://other.example/v1/')
    expect(user('x', 'none.example')).toBeUndefined()
  })

  it('credHelpers for the host come first, credsStore after the auths', () => {
    const withHelpers = parseAuthFile(file, JSON.stringify({auths: {'a.example': {auth: b64('a:a-pass')}}, credHelpers: {'h.example': 'one'}, credsStore: 'all'}))
    expect(authFileEntry(file, withHelpers, 'h.example', 'x')).toMatchObject({kind: 'helper', helper: 'one', serverUrl: 'h.example'})
    expect(authFileEntry(file, withHelpers, 'a.example')).toMatchObject({kind: 'basic', username: 'a'})
    expect(authFileEntry(file, withHelpers, 'docker.io')).toMatchObject({kind: 'helper', helper: 'all', serverUrl: 'https://index.docker.io/v1/'})
  })

  it('a file of the wrong shape is refused with its path', () => {
    expect(() => parseAuthFile(file, '[]')).toThrow('auth file /x/auth.json is not valid: not a JSON object')
    expect(() => parseAuthFile(file, '{"auths": "x"}')).toThrow('"auths" is not an object')
    expect(() => authFileEntry(file, parseAuthFile(file, `{"auths": {"r.example": {"auth": "${b64('nocolon')}"}}}`), 'r.example')).toThrow('is not base64 of user:password')
  })
})

describe('editing an auth file', () => {
  const doc = {auths: {'https://reg.example/v1/': {auth: 'old'}, 'keep.example': {auth: 'k'}}, credHelpers: {'h.example': 'x'}, proxies: {a: 1}, unknown: [1]}

  it('login replaces every spelling of the key and keeps the rest', () => {
    expect(withLogin(doc, 'reg.example', 'u', 'p')).toEqual({...doc, auths: {'keep.example': {auth: 'k'}, 'reg.example': {auth: b64('u:p')}}})
    expect(withLogin({}, 'reg.example/team', 'u', 'p')).toEqual({auths: {'reg.example/team': {auth: b64('u:p')}}})
  })

  it('logout removes the key only, and says whether it was there', () => {
    expect(withoutLogin(doc, 'reg.example')).toEqual({removed: true, doc: {...doc, auths: {'keep.example': {auth: 'k'}}}})
    expect(withoutLogin(doc, 'reg.example/team')).toEqual({removed: false, doc})
  })
})

describe('parseLoginTarget', () => {
  it('takes host[:port], host/namespace and docker URLs', () => {
    expect(parseLoginTarget('Reg.Example:5000')).toEqual({registry: 'reg.example:5000', name: 'reg.example:5000'})
    expect(parseLoginTarget('quay.io/team/sub/')).toEqual({registry: 'quay.io', name: 'quay.io/team/sub'})
    expect(parseLoginTarget('https://index.docker.io/v1/')).toEqual({registry: 'docker.io', name: 'docker.io'})
    expect(parseLoginTarget('[::1]:5000')).toEqual({registry: '[::1]:5000', name: '[::1]:5000'})
  })

  it('refuses anything else in one usage line', () => {
    for (const bad of ['', 'a b', 'reg.example/UPPER', '-x.example', 'reg.example:port', 'reg.example//x', '../etc']) {
      expect(() => parseLoginTarget(bad)).toThrow(expect.objectContaining({kind: 'usage'}))
    }
  })
})
