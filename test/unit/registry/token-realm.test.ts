import {realmUrl} from '../../../src/registry/auth/token.js'

/**
 * Which token realms may receive credentials. The integration test (credential-origins) runs the real
 * registry on loopback, where every http realm is allowed; these are the non-loopback names it cannot reach.
 */
const check = (realm: string, base: string) => () => realmUrl({scheme: 'bearer', params: {realm}}, {registry: new URL(base).host, base: new URL(base)})

describe('realmUrl', () => {
  it('accepts https anywhere, and http on loopback or on the host of a plain-http registry', () => {
    expect(check('https://auth.example.test/token', 'https://reg.example.test/')().href).toBe('https://auth.example.test/token')
    expect(check('http://127.0.0.5:9000/token', 'https://reg.example.test/')().host).toBe('127.0.0.5:9000')
    expect(check('http://[::1]:9000/token', 'https://reg.example.test/')().host).toBe('[::1]:9000')
    expect(check('http://reg.example.test:5001/token', 'http://reg.example.test:5000/')().port).toBe('5001')
  })
  it('refuses plain http elsewhere, naming the realm', () => {
    expect(check('http://auth.example.test/token', 'https://reg.example.test/')).toThrow('names the token realm http://auth.example.test/token, which is plain http on another host')
    // a plain-http registry does not make another host's plain-http realm safe
    expect(check('http://auth.example.test/token', 'http://reg.example.test:5000/')).toThrow(expect.objectContaining({kind: 'auth'}))
    // nor does an https registry on the same host make plain http safe
    expect(check('http://reg.example.test/token', 'https://reg.example.test/')).toThrow(/plain http/)
  })
  it('refuses other schemes', () => {
    for (const realm of ['file:///etc/passwd', 'ftp://auth.example.test/t', 'data:text/plain,x', 'javascript:alert(1)']) {
      expect(check(realm, 'https://reg.example.test/')).toThrow(expect.objectContaining({kind: 'auth', message: expect.stringContaining(`token realm ${realm}`)}))
    }
  })
})
