import {spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {request as httpRequest} from 'node:http'
import {request as httpsRequest} from 'node:https'
import {join} from 'node:path'
import {baseImageLayout, pushBaseImage, runSkopeo} from '../helpers/base-image.js'
import {startRegistry, startWatchdog, type TestRegistry, useRegistry} from '../helpers/registry.js'
import {markTraffic, measureTraffic, registryTraffic, storedManifest} from '../helpers/registry-traffic.js'
import {makeTempDir} from '../helpers/tmp.js'

/** The test harness against real peers: docker-registry 2.8 on one side, skopeo on the other. */

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function call(reg: TestRegistry, method: string, url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const ca = reg.caFile ? readFileSync(reg.caFile) : undefined
  return new Promise((resolve, reject) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest
    const req = request(url, {method, headers, ca}, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8')}))
    })
    req.on('error', reject)
    req.end()
  })
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
}

async function token(reg: TestRegistry, user: {username: string; password: string}, scope: string): Promise<{status: number; json: any}> {
  const issuer = reg.tokenIssuer!
  const url = `${issuer.realm}?service=${encodeURIComponent(issuer.service)}&scope=${encodeURIComponent(scope)}`
  const answer = await call(reg, 'GET', url, {authorization: basic(user.username, user.password)})
  return {status: answer.status, json: answer.status === 200 ? JSON.parse(answer.body) : undefined}
}

function jwtClaims(jwt: string): any {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'))
}

async function layoutManifestDigest(): Promise<string> {
  const {dir} = await baseImageLayout()
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'))
  return index.manifests[0].digest
}

async function inspect(reg: TestRegistry, ref: string, flags = reg.skopeoFlags('src').map(f => f.replace('--src-', '--'))): Promise<any> {
  const {stdout} = await runSkopeo(['inspect', ...flags, `docker://${ref}`])
  return JSON.parse(stdout)
}

const MANIFEST_ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'

describe('base image fixture', () => {
  it('is an OCI layout with one busybox layer, a history entry for it, PATH and Cmd', async () => {
    const {dir, ref} = await baseImageLayout()
    expect(ref).toBe(`oci:${dir}:latest`)
    const {stdout} = await runSkopeo(['inspect', '--config', ref])
    const config = JSON.parse(stdout)
    expect(config.rootfs.diff_ids).toHaveLength(1)
    expect(config.history.filter((h: {empty_layer?: boolean}) => !h.empty_layer)).toHaveLength(1)
    expect(config.config.Cmd).toEqual(['/bin/sh'])
    expect(config.config.Env).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
  })
})

describe('plain registry (HTTP, anonymous)', () => {
  let reg: TestRegistry
  beforeAll(async () => {
    reg = await startRegistry('plain')
  })
  afterAll(async () => {
    await reg?.stop()
  })

  it('serves /v2/ over HTTP at 127.0.0.1 and needs no CA', async () => {
    expect(reg.url).toBe(`http://${reg.host}`)
    expect(reg.host).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(reg.env()).toEqual({})
    expect((await call(reg, 'GET', `${reg.url}/v2/`)).status).toBe(200)
  })

  it('takes the base image from skopeo and gives it back unchanged', async () => {
    const ref = await pushBaseImage(reg)
    expect(ref).toBe(`${reg.host}/base/busybox:latest`)
    const info = await inspect(reg, ref)
    expect(info.Digest).toBe(await layoutManifestDigest())
    expect(info.Layers).toHaveLength(1)
    expect(existsSync(join(reg.storageDir, 'docker/registry/v2/repositories/base/busybox'))).toBe(true)
  })

  it('counts what skopeo moved, from its access log and storage, per marked span', async () => {
    const source = await pushBaseImage(reg, 'traffic/source')
    const {layers, config} = await storedManifest(reg, 'traffic/source', 'latest')
    const layerBytes = layers!.reduce((n, l) => n + l.size, 0)
    const mark = await markTraffic(reg)
    const layout = join(await makeTempDir('traffic'), 'layout')
    await runSkopeo(['copy', '--quiet', ...reg.skopeoFlags('src'), `docker://${source}`, `oci:${layout}:latest`])
    const pulled = await registryTraffic(reg, mark)
    expect(pulled).toMatchObject({
      blobBytesDownloaded: layerBytes + config!.size,
      layerBytesDownloaded: layerBytes,
      layersDownloaded: layers!.map(l => l.digest).sort(),
      blobBytesUploaded: 0,
      uploads: 0,
      manifestPuts: 0,
    })
    // a copy into another repository of the same registry: skopeo mounts the layer, uploads the config
    const {traffic} = await measureTraffic(reg, () =>
      runSkopeo(['copy', '--quiet', ...reg.skopeoFlags('src'), ...reg.skopeoFlags('dest'), `docker://${source}`, `docker://${reg.host}/traffic/copy:latest`]))
    expect(traffic).toMatchObject({mounts: 1, layerBytesUploaded: 0, blobBytesUploaded: config!.size, manifestPuts: 1})
    expect(traffic.blobs[layers![0].digest].mounts).toBe(1)
    // spans do not overlap: the first one still counts only the pull
    expect((await registryTraffic(reg, mark)).manifestPuts).toBe(1)
    expect((await registryTraffic(reg)).layerBytesUploaded).toBeGreaterThanOrEqual(layerBytes)
  })

  it('deletes a manifest by digest', async () => {
    const ref = await pushBaseImage(reg, 'scratch/deleteme', 'v1')
    const digest = (await inspect(reg, ref)).Digest as string
    const manifestUrl = `${reg.url}/v2/scratch/deleteme/manifests`
    expect((await call(reg, 'HEAD', `${manifestUrl}/v1`, {accept: MANIFEST_ACCEPT})).status).toBe(200)
    expect((await call(reg, 'DELETE', `${manifestUrl}/${digest}`)).status).toBe(202)
    expect((await call(reg, 'HEAD', `${manifestUrl}/v1`, {accept: MANIFEST_ACCEPT})).status).toBe(404)
    expect((await call(reg, 'HEAD', `${manifestUrl}/${digest}`, {accept: MANIFEST_ACCEPT})).status).toBe(404)
  })

  it('stop() kills the registry and removes its files', async () => {
    const other = await startRegistry('plain')
    const {url, storageDir} = other
    await other.stop()
    await other.stop()
    await expect(call(other, 'GET', `${url}/v2/`)).rejects.toThrow(/ECONNREFUSED/)
    expect(existsSync(storageDir)).toBe(false)
  })
})

describe('registry watchdog', () => {
  it('kills the process group it guards once its stdin closes, as when the test process dies', async () => {
    const guarded = spawn('sleep', ['60'], {detached: true, stdio: 'ignore'})
    const gone = new Promise(resolve => guarded.once('exit', (_code, signal) => resolve(signal)))
    try {
      const watchdog = startWatchdog(guarded.pid!)
      watchdog.stdin!.destroy()
      expect(await gone).toBe('SIGKILL')
    } finally {
      guarded.kill('SIGKILL')
    }
  })
})

describe('tls-basic registry (HTTPS, htpasswd)', () => {
  const setup = useRegistry({variant: 'tls-basic', base: true})

  it('serves HTTPS with a certificate from its own CA, and asks for Basic auth', async () => {
    expect(setup.reg.url).toBe(`https://${setup.reg.host}`)
    expect(setup.reg.env()).toEqual({SLIPWAY_CA_FILE: setup.reg.caFile})
    const anonymous = await call(setup.reg, 'GET', `${setup.reg.url}/v2/`)
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic /)
    expect((await call(setup.reg, 'GET', `${setup.reg.url}/v2/`, {authorization: basic(setup.reg.username!, setup.reg.password!)})).status).toBe(200)
  })

  it('gives the pushed image back to its user', async () => {
    const info = await inspect(setup.reg, setup.base)
    expect(info.Digest).toBe(await layoutManifestDigest())
  })

  it('refuses a wrong password and a client that does not trust the CA', async () => {
    const certDir = setup.reg.skopeoFlags('src')[1]
    await expect(inspect(setup.reg, setup.base, ['--cert-dir', certDir, '--creds', `${setup.reg.username}:wrong`])).rejects.toThrow(/unauthorized|authentication required/i)
    await expect(inspect(setup.reg, setup.base, ['--creds', `${setup.reg.username}:${setup.reg.password}`])).rejects.toThrow(/certificate/i)
  })

  it('deletes a manifest by digest for its user', async () => {
    const digest = (await inspect(setup.reg, setup.base)).Digest as string
    const auth = {authorization: basic(setup.reg.username!, setup.reg.password!)}
    expect((await call(setup.reg, 'DELETE', `${setup.reg.url}/v2/base/busybox/manifests/${digest}`, auth)).status).toBe(202)
    await expect(inspect(setup.reg, setup.base)).rejects.toThrow(/manifest unknown/i)
  })
})

describe('token registry (distribution token auth)', () => {
  const setup = useRegistry({variant: 'token', base: true})

  it('challenges with a Bearer realm on the issuer, over HTTPS', async () => {
    expect(setup.reg.url).toBe(`https://${setup.reg.host}`)
    const issuer = setup.reg.tokenIssuer!
    expect(issuer.realm).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/token$/)
    const anonymous = await call(setup.reg, 'GET', `${setup.reg.url}/v2/`)
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers['www-authenticate']).toBe(`Bearer realm="${issuer.realm}",service="${issuer.service}"`)
  })

  it('lets the full user push (done in beforeAll) and pull, fetching tokens from the issuer', async () => {
    const before = setup.reg.tokenIssuer!.requestCount
    const info = await inspect(setup.reg, setup.base)
    expect(info.Digest).toBe(await layoutManifestDigest())
    expect(setup.reg.tokenIssuer!.requestCount).toBeGreaterThan(before)
    expect(setup.reg.tokenIssuer!.requests.at(-1)).toMatchObject({username: setup.reg.username, issued: true})
  })

  it('lets the readonly user pull but not push', async () => {
    const ro = setup.reg.readonlyUser!
    const certDir = setup.reg.skopeoFlags('src')[1]
    const info = await inspect(setup.reg, setup.base, ['--cert-dir', certDir, '--creds', `${ro.username}:${ro.password}`])
    expect(info.Digest).toBe(await layoutManifestDigest())
    const readonlyTarget = `docker://${setup.reg.host}/base/busybox:readonly-push`
    await expect(runSkopeo(['copy', '--quiet', '--dest-cert-dir', certDir, '--dest-creds', `${ro.username}:${ro.password}`,
      (await baseImageLayout()).ref, readonlyTarget])).rejects.toThrow(/denied|unauthorized|authentication required/i)
    const granted = await token(setup.reg, ro, 'repository:base/busybox:pull,push')
    expect(jwtClaims(granted.json.token).access).toEqual([{type: 'repository', name: 'base/busybox', actions: ['pull']}])
  })

  it('refuses a wrong password and anonymous token requests', async () => {
    expect((await token(setup.reg, {username: setup.reg.username!, password: 'wrong'}, 'repository:base/busybox:pull')).status).toBe(401)
    expect((await call(setup.reg, 'GET', `${setup.reg.tokenIssuer!.realm}?service=${setup.reg.tokenIssuer!.service}`)).status).toBe(401)
    const certDir = setup.reg.skopeoFlags('src')[1]
    await expect(inspect(setup.reg, setup.base, ['--cert-dir', certDir, '--creds', `${setup.reg.username}:wrong`])).rejects.toThrow(/401|unauthorized|authentication required/i)
  })

  it('issues tokens with the TTL asked for; the registry refuses expired ones', async () => {
    const issuer = setup.reg.tokenIssuer!
    const fresh = await token(setup.reg, {username: setup.reg.username!, password: setup.reg.password!}, 'repository:base/busybox:pull')
    expect(fresh.json.expires_in).toBe(300)
    const saved = issuer.ttlSeconds
    issuer.ttlSeconds = -120 // past distribution's 60 s leeway
    try {
      const expired = await token(setup.reg, {username: setup.reg.username!, password: setup.reg.password!}, 'repository:base/busybox:pull')
      const claims = jwtClaims(expired.json.token)
      expect(claims.exp - claims.iat).toBe(-120)
      const answer = await call(setup.reg, 'HEAD', `${setup.reg.url}/v2/base/busybox/manifests/latest`, {authorization: `Bearer ${expired.json.token}`, accept: MANIFEST_ACCEPT})
      expect(answer.status).toBe(401)
      expect(answer.headers['www-authenticate']).toMatch(/error="invalid_token"/)
    } finally {
      issuer.ttlSeconds = saved
    }
    const ok = await call(setup.reg, 'HEAD', `${setup.reg.url}/v2/base/busybox/manifests/latest`, {authorization: `Bearer ${fresh.json.token}`, accept: MANIFEST_ACCEPT})
    expect(ok.status).toBe(200)
  })

  it('deletes a manifest by digest with a token holding the delete action, not with a pull token', async () => {
    const digest = (await inspect(setup.reg, setup.base)).Digest as string
    const full = {username: setup.reg.username!, password: setup.reg.password!}
    const url = `${setup.reg.url}/v2/base/busybox/manifests/${digest}`
    const pullOnly = await token(setup.reg, full, 'repository:base/busybox:pull')
    expect((await call(setup.reg, 'DELETE', url, {authorization: `Bearer ${pullOnly.json.token}`})).status).toBe(401)
    const deleter = await token(setup.reg, full, 'repository:base/busybox:delete')
    expect((await call(setup.reg, 'DELETE', url, {authorization: `Bearer ${deleter.json.token}`})).status).toBe(202)
  })
})

describe('token registry options', () => {
  it('tokenTtlSeconds sets expires_in and exp; tls: false serves registry and issuer over HTTP', async () => {
    const reg = await startRegistry('token', {tokenTtlSeconds: 7, tls: false})
    try {
      expect(reg.url).toBe(`http://${reg.host}`)
      expect(reg.caFile).toBeUndefined()
      expect(reg.tokenIssuer!.realm).toMatch(/^http:\/\//)
      const answer = await token(reg, {username: reg.username!, password: reg.password!}, 'repository:x/y:pull,push')
      expect(answer.json.expires_in).toBe(7)
      const claims = jwtClaims(answer.json.token)
      expect(claims.exp - claims.iat).toBe(7)
      expect(claims.aud).toBe(reg.tokenIssuer!.service)
      const pushed = await pushBaseImage(reg, 'x/y', 'v1')
      expect((await inspect(reg, pushed)).Digest).toBe(await layoutManifestDigest())
    } finally {
      await reg.stop()
    }
  })
})
