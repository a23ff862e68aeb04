import {copyFile, cp, mkdir} from 'node:fs/promises'
import {join} from 'node:path'

import {pushBaseImage} from '../../helpers/base-image.js'
import {freshHome, runSlipway} from '../../helpers/cli.js'
import {nonLoopbackAddress, startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'

/**
 * --insecure-registry and certs.d through the built CLI. A registry on one of the machine's own
 * non-loopback addresses is one slipway does not treat as local, so plain HTTP needs the flag there.
 */
const address = nonLoopbackAddress()
const homes: string[] = []
let certsD: string
beforeAll(async () => { certsD = await makeTempDir('cli-certs-d') })
afterAll(async () => {
  for (const h of homes) await removeTempDir(h)
  await removeTempDir(certsD)
})

function pull(ref: string, flags: string[] = [], env: Record<string, string> = {}) {
  const home = freshHome()
  homes.push(home)
  return runSlipway(['image', 'pull', ref, '--name', 'x', ...flags], {env: {SLIPWAY_HOME: home, SLIPWAY_CERTS_D: certsD, ...env}})
}

;(address ? describe : describe.skip)(`a plain-HTTP registry on a non-loopback address (${address})`, () => {
  let reg: TestRegistry
  let ref: string
  let port: string
  beforeAll(async () => {
    reg = await startRegistry('plain', {address})
    ref = await pushBaseImage(reg)
    port = reg.host.split(':')[1]
  })
  afterAll(async () => { await reg?.stop() })

  it('is refused without --insecure-registry, in one line naming the flag', async () => {
    const r = await pull(ref)
    expect(r.code).toBe(6)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(new RegExp(`${reg.host} does not speak TLS: it answered HTTPS with plain HTTP .*pass --insecure-registry ${reg.host} to allow plain HTTP with it`))
  })

  it('is pulled from with --insecure-registry HOST (every port) and HOST:PORT (that port)', async () => {
    expect((await pull(ref, ['--insecure-registry', address!])).code).toBe(0)
    expect((await pull(ref, ['--insecure-registry', 'other.example', '--insecure-registry', reg.host])).code).toBe(0)
  })

  it('HOST:PORT for another port does not match', async () => {
    const r = await pull(ref, ['--insecure-registry', `${address}:${Number(port) === 1 ? 2 : Number(port) - 1}`])
    expect(r.code).toBe(6)
    expect(r.stderr).toContain('does not speak TLS')
  })

  it('reads SLIPWAY_INSECURE_REGISTRY', async () => {
    expect((await pull(ref, [], {SLIPWAY_INSECURE_REGISTRY: `other.example,${reg.host}`})).code).toBe(0)
  })
})

describe('the flag and certs.d through the CLI', () => {
  it('refuses a URL as --insecure-registry with a usage line', async () => {
    const r = await pull('127.0.0.1:1/x:y', ['--insecure-registry', 'http://reg.example'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe('slipway: insecure registry "http://reg.example" has a URL scheme: give HOST (every port) or HOST:PORT (that port only), e.g. --insecure-registry registry.local:5000')
  })

  it('documents the matching in the help of every command that talks to a registry', async () => {
    for (const command of [['image', 'pull'], ['image', 'push'], ['dimg', 'bp'], ['dimg', 'stages', 'pull']]) {
      const r = await runSlipway([...command, '--help'])
      expect(r.stdout).toContain('--insecure-registry=HOST[:PORT]')
      expect(r.stdout.replace(/\s+/g, ' ')).toContain('HOST matches every port of HOST, HOST:PORT that port only')
    }
  })

  it('pulls from an mTLS registry what skopeo pushed, with the same certs.d directory skopeo used as --cert-dir', async () => {
    const reg = await startRegistry('tls-client-cert')
    try {
      const ref = await pushBaseImage(reg)
      const root = await makeTempDir('cli-mtls-certs-d')
      await cp(reg.skopeoFlags('src')[1], join(root, reg.host), {recursive: true})
      const home = freshHome()
      homes.push(home)
      const r = await runSlipway(['image', 'pull', ref, '--name', 'x', '--json'], {env: {SLIPWAY_HOME: home, SLIPWAY_CERTS_D: root}})
      expect(r.code).toBe(0)
      expect(JSON.parse(r.stdout).images[0].name).toBe('x')
      await removeTempDir(root)
    } finally {
      await reg.stop()
    }
  })

  it('pulls from a TLS registry whose CA is only in SLIPWAY_CERTS_D/HOST:PORT/ca.crt', async () => {
    const reg = await startRegistry('tls')
    try {
      const ref = await pushBaseImage(reg)
      const untrusted = await pull(ref)
      expect(untrusted.code).toBe(6)
      expect(untrusted.stderr).toContain(`put the CA certificate that signed it in ${certsD}/${reg.host}/ca.crt, or pass --insecure-registry ${reg.host}`)
      await mkdir(join(certsD, reg.host))
      await copyFile(reg.caFile!, join(certsD, reg.host, 'ca.crt'))
      const r = await pull(ref)
      expect(r.code).toBe(0)
    } finally {
      await reg.stop()
    }
  })
})
