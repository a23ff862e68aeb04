import {registerSecret} from '../../../src/redact.js'
import {networkError, parseErrorBody, registryErrorFor, RegistryError} from '../../../src/registry/errors.js'

const ctx = {host: 'reg.example:5000', method: 'GET', what: 'manifest app:1'}

describe('registryErrorFor', () => {
  it('keeps distribution error codes and marks temporary failures', () => {
    const e = registryErrorFor(503, '{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}', ctx)
    expect(e).toBeInstanceOf(RegistryError)
    expect(e.codes).toEqual(['UNAVAILABLE'])
    expect(e.temporary).toBe(true)
    expect(e.kind).toBe('registry')
    expect(registryErrorFor(400, '{"errors":[{"code":"MANIFEST_INVALID"}]}', ctx).temporary).toBe(false)
    expect(registryErrorFor(429, '', ctx).temporary).toBe(true)
  })
  it('words authentication failures with a login hint and no secret', () => {
    registerSecret('hunter2-secret')
    const credential = {source: 'docker config /home/u/.docker/config.json', hint: 'run docker login reg.example:5000 again'}
    const e = registryErrorFor(401, '{"errors":[{"code":"UNAUTHORIZED","message":"bad password hunter2-secret"}]}', {...ctx, credential})
    expect(e.kind).toBe('auth')
    expect(e.userLine).toBe('authentication to reg.example:5000 failed for manifest app:1 with the credentials from docker config /home/u/.docker/config.json: run docker login reg.example:5000 again')
    expect(e.userLine).not.toContain('hunter2')
    expect(registryErrorFor(401, '', ctx).message).toContain('no credentials were found')
    expect(registryErrorFor(403, '{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}', ctx).kind).toBe('auth')
  })
  it('maps unknown manifests to not-found and refused deletes to a config hint', () => {
    const nf = registryErrorFor(404, '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}', ctx)
    expect(nf.kind).toBe('not-found')
    expect(nf.message).toBe('manifest app:1 not found on reg.example:5000: MANIFEST_UNKNOWN: manifest unknown')
    const del = registryErrorFor(405, '{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}', {...ctx, method: 'DELETE'})
    expect(del.kind).toBe('registry')
    expect(del.userLine).toContain('storage: delete: enabled: true')
  })
  it('survives garbage bodies', () => {
    expect(parseErrorBody('<html>oops</html>')).toEqual({codes: [], messages: []})
    expect(parseErrorBody('{"errors":"x"}')).toEqual({codes: [], messages: []})
    expect(registryErrorFor(502, '<html>bad gateway</html>', ctx).message).toBe('reg.example:5000 failed with HTTP 502 on GET manifest app:1')
    expect(registryErrorFor(418, 'x'.repeat(1000), ctx).message.length).toBeLessThan(300)
  })
})

describe('networkError', () => {
  const err = (code: string) => Object.assign(new Error(`failed ${code}`), {code})
  it('explains unknown hosts and refused connections', () => {
    expect(networkError('nope.invalid:5000', err('ENOTFOUND')).message).toBe('cannot resolve registry host nope.invalid:5000')
    expect(networkError('h:1', err('ECONNREFUSED')).message).toBe('connection to h:1 refused')
  })
})

describe('networkError for a host that does not speak TLS', () => {
  it('names --insecure-registry for plain HTTP', () => {
    const e = networkError('192.0.2.9:5000', Object.assign(new Error('ssl3_get_record:wrong version number'), {code: 'ERR_SSL_WRONG_VERSION_NUMBER'}))
    expect(e.userLine).toBe('192.0.2.9:5000 does not speak TLS: it answered HTTPS with plain HTTP (ERR_SSL_WRONG_VERSION_NUMBER): pass --insecure-registry 192.0.2.9:5000 to allow plain HTTP with it')
  })
})
