import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {readFile, utimes, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {pushBaseImage, runSkopeo} from '../../helpers/base-image.js'
import {freshHome, runSlipway} from '../../helpers/cli.js'
import {type RegistryVariant, type TestRegistry, useRegistry} from '../../helpers/registry.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'

const exec = promisify(execFile)

function envFor(reg: TestRegistry, home: string): Record<string, string> {
  return {
    SLIPWAY_HOME: home,
    ...reg.env(),
    ...(reg.username ? {SLIPWAY_REGISTRY_USERNAME: reg.username, SLIPWAY_REGISTRY_PASSWORD: reg.password!} : {}),
  }
}

async function blobFile(home: string, digest: string): Promise<Buffer> {
  return readFile(join(home, 'store', 'blobs', 'sha256', digest.slice(7)))
}

describe.each<RegistryVariant>(['plain', 'tls-basic', 'token'])('image pull/push against a %s registry', variant => {
  const setup = useRegistry({variant, base: true})

  it('round-trips an image byte for byte, and skopeo and umoci read what slipway wrote', async () => {
    const hostA = setup.freshHome()
    const hostB = setup.freshHome()
    const pulled = await runSlipway(['image', 'pull', setup.base, '--name', 'base', '--json', '--quiet'], {env: envFor(setup.reg, hostA)})
    expect(pulled.stderr).toBe('')
    expect(pulled.code).toBe(0)
    const pullResult = JSON.parse(pulled.stdout)
    expect(pullResult.images[0].name).toBe('base')

    const target = `${setup.reg.host}/copy/busybox:v1`
    const pushed = await runSlipway(['image', 'push', 'base', target, '--json'], {env: envFor(setup.reg, hostA)})
    expect(pushed.code).toBe(0)
    const pushResult = JSON.parse(pushed.stdout)
    expect(pushResult.images[0].digest).toBe(pullResult.images[0].digest)
    // a cross-repository mount: the blobs came from base/busybox on the same registry
    expect(pushResult.blobs.map((b: {outcome: string}) => b.outcome).sort()).toEqual(['mounted', 'mounted'])

    const again = await runSlipway(['image', 'pull', target, '--name', 'copy', '--json'], {env: envFor(setup.reg, hostB)})
    expect(again.code).toBe(0)
    const digest = JSON.parse(again.stdout).images[0].digest
    expect(digest).toBe(pullResult.images[0].digest)
    const manifest = JSON.parse((await blobFile(hostB, digest)).toString())
    for (const d of [digest, manifest.config.digest, ...manifest.layers.map((l: {digest: string}) => l.digest)]) {
      expect((await blobFile(hostB, d)).equals(await blobFile(hostA, d))).toBe(true)
    }

    // independent peers read the registry copy and the store
    const inspect = await runSkopeo(['inspect', ...setup.reg.skopeoFlags('src').map(f => f.replace('--src-', '--')), `docker://${target}`])
    expect(JSON.parse(inspect.stdout).Digest).toBe(digest)
    const bundle = await makeTempDir('bundle')
    try {
      await exec('umoci', ['unpack', '--rootless', '--image', `${join(hostB, 'store')}:copy`, join(bundle, 'b')])
      expect((await readFile(join(bundle, 'b', 'rootfs', 'etc', 'passwd'), 'utf8'))).toContain('root:')
    } finally {
      await removeTempDir(bundle)
    }
    const verify = await runSlipway(['store', 'verify'], {env: {SLIPWAY_HOME: hostB}})
    expect(verify.code).toBe(0)
  })

  it('pulls what skopeo pushed into a store skopeo reads back', async () => {
    const home = setup.freshHome()
    const r = await runSlipway(['image', 'pull', setup.base, '--name', 'from-skopeo'], {env: envFor(setup.reg, home)})
    expect(r.code).toBe(0)
    const local = await runSkopeo(['inspect', `oci:${join(home, 'store')}:from-skopeo`])
    const remote = await runSkopeo(['inspect', ...setup.reg.skopeoFlags('src').map(f => f.replace('--src-', '--')), `docker://${setup.base}`])
    expect(JSON.parse(local.stdout).Layers).toEqual(JSON.parse(remote.stdout).Layers)
  })
})

describe('image commands: bad input', () => {
  const setup = useRegistry({variant: 'tls-basic'})

  it('a wrong password: one line, exit 4, no secret', async () => {
    const home = freshHome()
    const secret = 'wrong-password-do-not-print'
    const r = await runSlipway(['image', 'pull', `${setup.reg.host}/x/y:1`, '--debug'], {
      env: {SLIPWAY_HOME: home, ...setup.reg.env(), SLIPWAY_REGISTRY_USERNAME: setup.reg.username!, SLIPWAY_REGISTRY_PASSWORD: secret},
    })
    expect(r.code).toBe(4)
    expect(r.stderr).toMatch(/^slipway: authentication to 127\.0\.0\.1:\d+ failed/m)
    expect(r.stdout + r.stderr).not.toContain(secret)
    expect(r.stdout + r.stderr).not.toContain(Buffer.from(`${setup.reg.username}:${secret}`).toString('base64'))
    await removeTempDir(home)
  })

  it('an untrusted TLS certificate: one line, exit 6', async () => {
    const home = freshHome()
    const r = await runSlipway(['image', 'pull', `${setup.reg.host}/x/y:1`], {env: {SLIPWAY_HOME: home}})
    expect(r.code).toBe(6)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/is not trusted: .*ca\.crt, or pass --insecure-registry 127\.0\.0\.1:\d+$/m)
    await removeTempDir(home)
  })

  it('a bad reference or a missing image: one line, no stack trace', async () => {
    const home = freshHome()
    const bad = await runSlipway(['image', 'pull', 'UPPER/Case:x'], {env: {SLIPWAY_HOME: home}})
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^slipway: invalid image reference "UPPER\/Case:x"/)
    expect(bad.stderr).not.toMatch(/\bat .*\.js:\d+/)
    const missing = await runSlipway(['image', 'push', 'nothing-here', `${setup.reg.host}/x:1`], {env: {SLIPWAY_HOME: home}})
    expect(missing.code).toBe(5)
    expect(missing.stderr.trim()).toBe('slipway: no image named "nothing-here" in the local store: see `slipway image list`')
    const flag = await runSlipway(['image', 'pull'], {env: {SLIPWAY_HOME: home}})
    expect(flag.code).toBe(2)
    expect(flag.stderr.trim().split('\n')).toHaveLength(1)
    await removeTempDir(home)
  })
})

describe('image push: a damaged blob in the local store', () => {
  const source = useRegistry({base: true})
  const other = useRegistry() // another registry: nothing can be mounted, every blob is uploaded

  // the push does not hash the store's copy itself: the registry's digest check is what catches it
  it.each([
    ['one byte changed', (b: Buffer) => Buffer.concat([b.subarray(0, 100), Buffer.from([b[100]! ^ 0xff]), b.subarray(101)])],
    ['cut short', (b: Buffer) => b.subarray(0, b.length - 10)],
  ])('%s: one line naming the blob and `store verify`, exit 8, no tag written', async (_name, damage) => {
    const home = freshHome()
    try {
      expect((await runSlipway(['image', 'pull', source.base, '--name', 'base'], {env: {SLIPWAY_HOME: home}})).code).toBe(0)
      const [entry] = JSON.parse((await runSlipway(['image', 'list', '--json'], {env: {SLIPWAY_HOME: home}})).stdout)
      const manifest = JSON.parse((await blobFile(home, entry.digest)).toString())
      const layer: string = manifest.layers[0].digest
      const file = join(home, 'store', 'blobs', 'sha256', layer.slice(7))
      await writeFile(file, damage(await readFile(file)))

      const target = `${other.reg.host}/damaged/busybox:v1`
      const r = await runSlipway(['image', 'push', 'base', target], {env: {SLIPWAY_HOME: home}})
      expect(r.code).toBe(8)
      const errors = r.stderr.split('\n').filter(l => l.startsWith('slipway:'))
      expect(errors).toHaveLength(1)
      expect(errors[0]).toContain(layer)
      expect(errors[0]).toContain('slipway store verify')
      const tags = await fetch(`http://${other.reg.host}/v2/damaged/busybox/tags/list`)
      expect(tags.status === 404 || ((await tags.json()) as {tags: string[] | null}).tags === null).toBe(true)
    } finally {
      await removeTempDir(home)
    }
  })
})

describe('image list, store gc', () => {
  const setup = useRegistry()

  it('lists stored images as a table and as JSON; gc keeps what is named and removes the rest', async () => {
    const ref = await pushBaseImage(setup.reg)
    expect((await runSlipway(['image', 'pull', ref, '--name', 'base'], {env: {SLIPWAY_HOME: setup.home}})).code).toBe(0)
    const listed = JSON.parse((await runSlipway(['image', 'list', '--json'], {env: {SLIPWAY_HOME: setup.home}})).stdout)
    expect(listed).toEqual([expect.objectContaining({name: 'base', digest: expect.stringMatching(/^sha256:[a-f0-9]{64}$/), mediaType: 'application/vnd.oci.image.manifest.v1+json'})])
    const table = await runSlipway(['image', 'list'], {env: {SLIPWAY_HOME: setup.home}})
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+DIGEST\s+SIZE$/)
    expect(table.stdout).toContain('base')
    // an unreferenced blob, old enough to go
    const stray = join(setup.home, 'store', 'blobs', 'sha256', 'f'.repeat(64))
    await writeFile(stray, 'stray')
    const old = new Date(Date.now() - 2 * 3600_000)
    await utimes(stray, old, old)
    const dry = JSON.parse((await runSlipway(['store', 'gc', '--dry-run', '--json'], {env: {SLIPWAY_HOME: setup.home}})).stdout)
    expect(dry.removedBlobs).toEqual([`sha256:${'f'.repeat(64)}`])
    expect(existsSync(stray)).toBe(true)
    const gc = await runSlipway(['store', 'gc'], {env: {SLIPWAY_HOME: setup.home}})
    expect(gc.stdout.trim()).toBe('removed 1 blob (5 B), 0 temporary files and 0 stale kept roots')
    expect(existsSync(stray)).toBe(false)
    expect((await runSlipway(['store', 'verify'], {env: {SLIPWAY_HOME: setup.home}})).code).toBe(0)
  })
})
