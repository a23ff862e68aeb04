import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {createSecureContext} from 'node:tls'

import {SlipwayError} from '../../../src/errors.js'
import {certsDRoots, findHostCertsDir, hostDirNames, readHostCertsDir} from '../../../src/registry/tls/certs-d.js'
import type {HostTls} from '../../../src/registry/tls/host-tls.js'
import {describeTlsFailure} from '../../../src/registry/tls/tls-failure.js'
import {insecureHostsFromEnv, isInsecureHost, parseInsecureHost} from '../../../src/registry/tls/insecure-hosts.js'
import {makeTempDirSync} from '../../helpers/tmp.js'

describe('insecure registry matching', () => {
  const entries = (...list: string[]) => list.map(parseInsecureHost)

  it('matches HOST on every port and HOST:PORT on that port only', () => {
    expect(isInsecureHost(entries('reg.local'), 'reg.local')).toBe(true)
    expect(isInsecureHost(entries('reg.local'), 'reg.local:5000')).toBe(true)
    expect(isInsecureHost(entries('Reg.Local'), 'REG.local:443')).toBe(true)
    expect(isInsecureHost(entries('reg.local:5000'), 'reg.local:5000')).toBe(true)
    expect(isInsecureHost(entries('reg.local:5000'), 'reg.local:5001')).toBe(false)
    expect(isInsecureHost(entries('reg.local:5000'), 'reg.local')).toBe(false)
    expect(isInsecureHost(entries('reg.local'), 'other.local')).toBe(false)
    expect(isInsecureHost(entries('reg.local'), 'sub.reg.local')).toBe(false)
  })

  it('reads IPv6 with and without brackets', () => {
    expect(isInsecureHost(entries('[::1]:5000'), '[::1]:5000')).toBe(true)
    expect(isInsecureHost(entries('[::1]:5000'), '[::1]:5001')).toBe(false)
    expect(isInsecureHost(entries('::1'), '[::1]:5001')).toBe(true)
    expect(isInsecureHost(entries('[fd00::2]'), '[fd00::2]:443')).toBe(true)
  })

  it('refuses URLs, paths and bad ports with a usage line', () => {
    for (const bad of ['http://reg.local', 'reg.local/path', 'reg.local:http', '', ':5000', '[::1']) {
      const e = (() => { try { parseInsecureHost(bad); return undefined } catch (x) { return x } })()
      expect(e).toBeInstanceOf(SlipwayError)
      expect((e as SlipwayError).kind).toBe('usage')
      expect((e as SlipwayError).userLine).toMatch(/give HOST \(every port\) or HOST:PORT/)
    }
  })

  it('splits the environment variable on commas', () => {
    expect(insecureHostsFromEnv(' a:1, b ,,')).toEqual(['a:1', 'b'])
    expect(insecureHostsFromEnv(undefined)).toEqual([])
  })
})

describe('certs.d directories', () => {
  let dir: string
  beforeEach(() => { dir = makeTempDirSync('certs-d') })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('uses the user directory before /etc/containers and /etc/docker for non-root, and SLIPWAY_CERTS_D instead of them', () => {
    expect(certsDRoots({HOME: '/home/u'}, 1000)).toEqual(['/home/u/.config/containers/certs.d', '/etc/containers/certs.d', '/etc/docker/certs.d'])
    expect(certsDRoots({HOME: '/home/u', XDG_CONFIG_HOME: '/x'}, 1000)[0]).toBe('/x/containers/certs.d')
    expect(certsDRoots({HOME: '/root'}, 0)).toEqual(['/etc/containers/certs.d', '/etc/docker/certs.d'])
    expect(certsDRoots({SLIPWAY_CERTS_D: '/a:/b:'}, 1000)).toEqual(['/a', '/b'])
  })

  it('names host:port, and on 443 host:443 before host', () => {
    expect(hostDirNames('reg.local', '5000')).toEqual(['reg.local:5000'])
    expect(hostDirNames('reg.local', '443')).toEqual(['reg.local:443', 'reg.local'])
    expect(hostDirNames('::1', '5000')).toEqual(['[::1]:5000'])
  })

  it('takes the first root holding the host directory, host:443 before host', () => {
    const a = join(dir, 'a')
    const b = join(dir, 'b')
    mkdirSync(join(a, 'reg.local'), {recursive: true})
    mkdirSync(join(b, 'reg.local:443'), {recursive: true})
    mkdirSync(join(b, 'reg.local:5000'), {recursive: true})
    expect(findHostCertsDir([a, b], hostDirNames('reg.local', '443')).found?.dir).toBe(join(b, 'reg.local:443'))
    expect(findHostCertsDir([a, b], hostDirNames('reg.local', '5000')).found?.dir).toBe(join(b, 'reg.local:5000'))
    const none = findHostCertsDir([a, b], hostDirNames('reg.local', '5001'))
    expect(none.found).toBeUndefined()
    expect(none.lookedIn).toEqual([join(a, 'reg.local:5001'), join(b, 'reg.local:5001')])
  })

  it('reads *.crt as CAs and the first NAME.cert/NAME.key pair', () => {
    writeFileSync(join(dir, 'ca.crt'), 'CA1')
    writeFileSync(join(dir, 'extra.crt'), 'CA2')
    writeFileSync(join(dir, 'b.cert'), 'B')
    writeFileSync(join(dir, 'b.key'), 'BK')
    writeFileSync(join(dir, 'a.cert'), 'A')
    writeFileSync(join(dir, 'a.key'), 'AK')
    writeFileSync(join(dir, 'README'), 'ignored')
    const got = readHostCertsDir(dir)
    expect(got.cas).toEqual([{file: join(dir, 'ca.crt'), pem: 'CA1'}, {file: join(dir, 'extra.crt'), pem: 'CA2'}])
    expect(got.client).toEqual({certFile: join(dir, 'a.cert'), keyFile: join(dir, 'a.key'), cert: 'A', key: 'AK'})
  })

  it('refuses a .cert without its .key, and a .key without its .cert, naming both files', () => {
    writeFileSync(join(dir, 'client.cert'), 'C')
    expect(() => readHostCertsDir(dir)).toThrow(`client certificate files do not pair up: ${join(dir, 'client.cert')} has no ${join(dir, 'client.key')}`)
    rmSync(join(dir, 'client.cert'))
    writeFileSync(join(dir, 'client.key'), 'K')
    expect(() => readHostCertsDir(dir)).toThrow(`${join(dir, 'client.key')} has no ${join(dir, 'client.cert')}`)
  })
})

describe('TLS failure lines', () => {
  const tls = (extra: Partial<HostTls> = {}): HostTls => ({
    hostPort: 'reg.example:5000', secureContext: createSecureContext(), caSources: ['system roots'], lookedIn: ['/etc/containers/certs.d/reg.example:5000'], ...extra,
  })
  const line = (code: string, host: HostTls = tls()) => describeTlsFailure(code, {tls: host, insecure: false, suggestedDir: '/etc/containers/certs.d/reg.example:5000'})?.userLine

  it('says expired and not-yet-valid certificates as such, with the flag as the way around', () => {
    expect(line('CERT_HAS_EXPIRED')).toBe('TLS certificate of reg.example:5000 is not trusted: expired (CERT_HAS_EXPIRED; CAs tried: system roots; no certs.d directory (looked in /etc/containers/certs.d/reg.example:5000)): '
      + "have the registry's certificate fixed, or pass --insecure-registry reg.example:5000")
    expect(line('CERT_NOT_YET_VALID')).toContain('is not trusted: not valid yet (check the clock) (CERT_NOT_YET_VALID;')
  })

  it('names the certs.d directory used and its CA files', () => {
    const dir = '/etc/docker/certs.d/reg.example:5000'
    expect(line('SELF_SIGNED_CERT_IN_CHAIN', tls({certsDir: dir, caSources: ['system roots', `${dir}/ca.crt`]})))
      .toBe(`TLS certificate of reg.example:5000 is not trusted: signed by an unknown (self-signed) authority (SELF_SIGNED_CERT_IN_CHAIN; CAs tried: system roots, ${dir}/ca.crt): `
        + `put the CA certificate that signed it in ${dir}/ca.crt, or pass --insecure-registry reg.example:5000`)
  })

  it('leaves other errors alone', () => {
    expect(line('ECONNREFUSED')).toBeUndefined()
  })
})
