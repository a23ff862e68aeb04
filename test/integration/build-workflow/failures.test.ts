/**
 * Builds that must fail: a stage command that exits non-zero (nothing enters the cache) and base images
 * whose layers try to write outside the root (nothing is written there).
 */
import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdir, readdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import tar from 'tar-stream'

type EntryHeader = Partial<tar.Header> & {name: string}

import {pushBaseImage, runSkopeo} from '../../helpers/base-image.js'
import {freshHome, runSlipway} from '../../helpers/cli.js'
import {makeProject} from '../../helpers/project.js'
import {startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'
import {build, buildEnv, builtStages, runBuild, storeDir, storeRefs} from './support.js'
import {scratchBase} from '../../../src/workflows/scratch.js'

const failingDappfile = (install: string[]): string => `
from: localhost:5000/base/busybox:latest
shell:
  beforeInstall:
    - echo before > /before
  install:
${install.map(c => `    - ${JSON.stringify(c)}`).join('\n')}
docker:
  CMD: ["/bin/cat", "/installed"]
`

describe('dimg build: a failing stage command', () => {
  let reg: TestRegistry
  let home: string

  beforeAll(async () => {
    reg = await startRegistry('plain')
    await pushBaseImage(reg)
    home = freshHome()
  })
  afterAll(async () => {
    await reg?.stop()
    if (home) await removeTempDir(home)
  })

  it('a base image that is not in its registry: exit 5, one line naming the `from` reference', async () => {
    const project = await makeProject({registryHost: reg.host, dappfile: 'from: localhost:5000/base/nothing:latest\nshell:\n  install: [echo hi]\n'})
    const r = await runBuild(project.dir, buildEnv(reg, home))
    expect(r.code).toBe(5)
    expect(r.stderr.trim().split('\n')).toEqual([
      `slipway: base image ${reg.host}/base/nothing:latest (from: ${reg.host}/base/nothing:latest) is not in its registry: check the \`from\` reference in the dappfile, and that the image was pushed`,
    ])
  })

  it('exits 9 naming the stage, shows the last output lines, and leaves the cache as it was', async () => {
    const project = await makeProject({registryHost: reg.host, dappfile: failingDappfile(['echo ok > /installed'])})
    const env = buildEnv(reg, home)
    const ok = await build(project.dir, env)
    expect(builtStages(ok, 'app')).toEqual(['from', 'beforeInstall', 'install', 'docker'])
    const refsBefore = await storeRefs(home)
    const indexBefore = await readFile(join(storeDir(home), 'index.json'), 'utf8')

    // a new beforeInstall succeeds, then install fails: neither may enter the cache
    await project.commit('break install', {
      'dappfile.yaml': failingDappfile(['echo first line of output', 'echo second line on stderr >&2', 'echo the last words', 'exit 3']).replace(
        'echo before > /before',
        'echo changed > /before',
      ),
    })
    const failed = await runBuild(project.dir, env)
    expect(failed.code).toBe(9)
    expect(failed.stdout).toBe('')
    const lines = failed.stderr.trim().split('\n')
    expect(lines[lines.length - 1]).toMatch(/^slipway: app: stage install failed: a command exited with code 3/)
    expect(failed.stderr).toContain('first line of output')
    expect(failed.stderr).toContain('second line on stderr')
    expect(failed.stderr).toContain('the last words')
    expect(failed.stderr).not.toMatch(/\n\s+at /) // no stack trace

    expect(await storeRefs(home)).toEqual(refsBefore)
    expect(await readFile(join(storeDir(home), 'index.json'), 'utf8')).toBe(indexBefore)
    // the run's temporary roots are gone
    expect(await readdir(scratchBase(home)).catch(() => [])).toEqual([])

    // without --json the output streams with the stage's name on each line
    const plain = await runSlipway(['dimg', 'build', '--dir', project.dir], {env})
    expect(plain.code).toBe(9)
    expect(plain.stderr).toMatch(/\[app: install [0-9a-f]{12}\] the last words/)
    expect(plain.stderr.trim().split('\n').pop()).toMatch(/^slipway: app: stage install failed: a command exited with code 3/)
    expect(await storeRefs(home)).toEqual(refsBefore)
  })
})

/** Hostile entries, one image each: every one must be refused without writing outside the root. */
type Hostile = {name: string; entries: (outside: string) => {header: EntryHeader; content?: string}[]; sentinel: (outside: string) => string}

const UP = '../'.repeat(24)
const HOSTILE: Hostile[] = [
  {
    name: 'dotdot',
    entries: outside => [{header: {name: `${UP}${outside.slice(1)}/dotdot-pwned`, type: 'file'}, content: 'pwned'}],
    sentinel: outside => join(outside, 'dotdot-pwned'),
  },
  {
    name: 'absolute',
    entries: outside => [{header: {name: `${outside}/absolute-pwned`, type: 'file'}, content: 'pwned'}],
    sentinel: outside => join(outside, 'absolute-pwned'),
  },
  {
    name: 'symlink',
    entries: outside => [
      {header: {name: 'escape', type: 'symlink', linkname: outside}},
      {header: {name: 'escape/symlink-pwned', type: 'file'}, content: 'pwned'},
    ],
    sentinel: outside => join(outside, 'symlink-pwned'),
  },
  {
    name: 'relative-symlink',
    entries: outside => [
      {header: {name: 'etc', type: 'directory', mode: 0o755}},
      {header: {name: 'etc/escape', type: 'symlink', linkname: `${UP}${outside.slice(1)}`}},
      {header: {name: 'etc/escape/relsymlink-pwned', type: 'file'}, content: 'pwned'},
    ],
    sentinel: outside => join(outside, 'relsymlink-pwned'),
  },
  {
    name: 'hardlink',
    // a link to a host file, then a file entry at the link's path that would overwrite the host file
    entries: outside => [
      {header: {name: 'victim', type: 'link', linkname: `${UP}${outside.slice(1)}/victim.txt`}},
      {header: {name: 'victim', type: 'file'}, content: 'pwned'},
    ],
    sentinel: outside => join(outside, 'victim.txt'),
  },
  {
    name: 'absolute-hardlink',
    entries: outside => [
      {header: {name: 'victim', type: 'link', linkname: join(outside, 'victim.txt')}},
      {header: {name: 'victim', type: 'file'}, content: 'pwned'},
    ],
    sentinel: outside => join(outside, 'victim.txt'),
  },
]

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`
}

async function tarOf(entries: {header: EntryHeader; content?: string}[]): Promise<Buffer> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  pack.on('data', (c: unknown) => chunks.push(c as Buffer))
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve)
    pack.on('error', reject)
  })
  for (const e of entries) {
    const content = e.content === undefined ? undefined : Buffer.from(e.content)
    const header: EntryHeader = {mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, ...e.header, ...(content ? {size: content.length} : {})}
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve())
      if (content) pack.entry(header, content, done)
      else pack.entry(header, done)
    })
  }
  pack.finalize()
  await done
  return Buffer.concat(chunks)
}

/** Writes a one-layer OCI image layout (uncompressed layer) and pushes it to HOST/hostile/NAME:latest. */
async function pushHostileImage(reg: TestRegistry, work: string, name: string, layer: Buffer): Promise<string> {
  const layout = join(work, `layout-${name}`)
  const blobs = join(layout, 'blobs', 'sha256')
  await mkdir(blobs, {recursive: true})
  const put = async (data: Buffer): Promise<string> => {
    const digest = sha256(data)
    await writeFile(join(blobs, digest.slice(7)), data)
    return digest
  }
  const layerDigest = await put(layer)
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {Env: ['PATH=/bin'], Cmd: ['/bin/sh']},
      rootfs: {type: 'layers', diff_ids: [layerDigest]},
      history: [{created_by: 'hostile'}],
    }),
  )
  const configDigest = await put(config)
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length},
      layers: [{mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length}],
    }),
  )
  const manifestDigest = await put(manifest)
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifestDigest, size: manifest.length, annotations: {'org.opencontainers.image.ref.name': 'latest'}}],
    }),
  )
  const target = `${reg.host}/hostile/${name}:latest`
  await runSkopeo(['copy', '--quiet', ...reg.skopeoFlags('dest'), `oci:${layout}:latest`, `docker://${target}`])
  return target
}

describe('dimg build: a hostile base image', () => {
  let reg: TestRegistry
  let work: string
  let home: string

  beforeAll(async () => {
    reg = await startRegistry('plain')
    work = await makeTempDir('hostile')
    home = freshHome()
  })
  afterAll(async () => {
    await reg?.stop()
    if (home) await removeTempDir(home)
  })

  it.each(HOSTILE.map(h => [h.name, h] as const))('refuses %s entries with exit code 8 and writes nothing outside the root', async (name, hostile) => {
    const outside = join(work, `outside-${name}`)
    await mkdir(outside, {recursive: true})
    await writeFile(join(outside, 'victim.txt'), 'original')
    const ref = await pushHostileImage(reg, work, name, await tarOf(hostile.entries(outside)))
    const project = await makeProject({
      registryHost: reg.host,
      dappfile: `from: ${ref}\nshell:\n  install: [echo hi > /hi]\n`,
    })
    const result = await runBuild(project.dir, buildEnv(reg, home))
    expect(result.code).toBe(8)
    expect(result.stdout).toBe('')
    const lines = result.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^slipway: .{10,}/)
    const sentinel = hostile.sentinel(outside)
    if (name.endsWith('hardlink')) expect(await readFile(sentinel, 'utf8')).toBe('original')
    else expect(existsSync(sentinel)).toBe(false)
    expect((await readdir(outside)).sort()).toEqual(['victim.txt'])
    expect((await storeRefs(home)).filter(r => r.startsWith('dimgstage-'))).toEqual([])
  })
})
