/**
 * Builds that must fail: a stage command that exits non-zero (nothing enters the cache) and base images
 * whose layers try to write outside the root (nothing is written there).
 */
import {existsSync} from 'node:fs'
import {chmod, lstat, mkdir, readdir, readFile, utimes, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {pushLayerImage} from '../../helpers/base-image.js'
import {runSlipway} from '../../helpers/cli.js'
import {makeProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {makeTempDir} from '../../helpers/tmp.js'
import {tarOf, type TarEntry} from '../../helpers/tar.js'
import {build, buildEnv, builtStages, runBuild, storeDir, storeRefs} from './support.js'
import {scratchBase} from '../../../src/roots/scratch.js'

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
  const setup = useRegistry({base: true})


  it('a base image that is not in its registry: exit 5, one line naming the `from` reference', async () => {
    const project = await makeProject({registryHost: setup.reg.host, dappfile: 'from: localhost:5000/base/nothing:latest\nshell:\n  install: [echo hi]\n'})
    const r = await runBuild(project.dir, buildEnv(setup.reg, setup.home))
    expect(r.code).toBe(5)
    expect(r.stderr.trim().split('\n')).toEqual([
      `slipway: base image ${setup.reg.host}/base/nothing:latest (from: ${setup.reg.host}/base/nothing:latest) is not in its registry: check the \`from\` reference in the dappfile, and that the image was pushed`,
    ])
  })

  it('exits 9 naming the stage, shows the last output lines, and leaves the cache as it was', async () => {
    const project = await makeProject({registryHost: setup.reg.host, dappfile: failingDappfile(['echo ok > /installed'])})
    const env = buildEnv(setup.reg, setup.home)
    const ok = await build(project.dir, env)
    expect(builtStages(ok, 'app')).toEqual(['from', 'beforeInstall', 'install', 'docker'])
    const refsBefore = await storeRefs(setup.home)
    const indexBefore = await readFile(join(storeDir(setup.home), 'index.json'), 'utf8')

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

    expect(await storeRefs(setup.home)).toEqual(refsBefore)
    expect(await readFile(join(storeDir(setup.home), 'index.json'), 'utf8')).toBe(indexBefore)
    // the run's temporary roots are gone
    expect(await readdir(scratchBase(setup.home)).catch(() => [])).toEqual([])

    // without --json the output streams with the stage's name on each line
    const plain = await runSlipway(['dimg', 'build', '--dir', project.dir], {env})
    expect(plain.code).toBe(9)
    expect(plain.stderr).toMatch(/^  \[app: install\] the last words$/m)
    expect(plain.stderr.trim().split('\n').pop()).toMatch(/^slipway: app: stage install failed: a command exited with code 3/)
    expect(await storeRefs(setup.home)).toEqual(refsBefore)
  })
})

/** Hostile entries, one image each: every one must be refused without writing outside the root. */
type Hostile = {name: string; entries: (outside: string) => TarEntry[]; sentinel: (outside: string) => string}

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

describe('dimg build: a hostile base image', () => {
  const setup = useRegistry()
  let work: string

  beforeAll(async () => {
    work = await makeTempDir('hostile')
  })

  it.each(HOSTILE.map(h => [h.name, h] as const))('refuses %s entries with exit code 8 and writes nothing outside the root', async (name, hostile) => {
    const outside = join(work, `outside-${name}`)
    await mkdir(outside, {recursive: true})
    await writeFile(join(outside, 'victim.txt'), 'original')
    const ref = await pushLayerImage(setup.reg, name, await tarOf(hostile.entries(outside)))
    const project = await makeProject({
      registryHost: setup.reg.host,
      dappfile: `from: ${ref}\nshell:\n  install: [echo hi > /hi]\n`,
    })
    const result = await runBuild(project.dir, buildEnv(setup.reg, setup.home))
    expect(result.code).toBe(8)
    expect(result.stdout).toBe('')
    const lines = result.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^slipway: .{10,}/)
    const sentinel = hostile.sentinel(outside)
    if (name.endsWith('hardlink')) expect(await readFile(sentinel, 'utf8')).toBe('original')
    else expect(existsSync(sentinel)).toBe(false)
    expect((await readdir(outside)).sort()).toEqual(['victim.txt'])
    expect((await storeRefs(setup.home)).filter(r => r.startsWith('dimgstage-'))).toEqual([])
  })
})

describe('dimg build: a base image whose directory is replaced by a symlink to a host directory', () => {
  const setup = useRegistry()
  let work: string

  beforeAll(async () => {
    work = await makeTempDir('hostile-dir')
  })

  it("builds on it without applying the directory's mode and mtime to the host directory", async () => {
    const hostDir = join(work, 'host-dir')
    await mkdir(hostDir)
    await writeFile(join(hostDir, 'keep'), 'original')
    await chmod(hostDir, 0o755)
    const longAgo = new Date('2001-02-03T04:05:06Z')
    await utimes(hostDir, longAgo, longAgo)
    const before = await lstat(hostDir)
    const ref = await pushLayerImage(setup.reg, 'dir-then-symlink', await tarOf([
      {header: {name: 'bin/', type: 'directory', mode: 0o755}},
      {header: {name: 'bin/busybox', mode: 0o755}, content: await readFile('/bin/busybox')},
      {header: {name: 'bin/sh', type: 'symlink', linkname: 'busybox'}},
      {header: {name: 'd/', type: 'directory', mode: 0o7777, mtime: new Date('2030-01-01T00:00:00Z')}},
      {header: {name: 'd', type: 'symlink', linkname: hostDir}},
    ]))
    const project = await makeProject({registryHost: setup.reg.host, dappfile: `from: ${ref}\nshell:\n  install: [echo hi > /hi]\n`})
    const result = await runBuild(project.dir, buildEnv(setup.reg, setup.home))
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const after = await lstat(hostDir)
    expect([after.mode.toString(8), after.mtimeMs, after.uid]).toEqual([before.mode.toString(8), before.mtimeMs, before.uid])
    expect(await readdir(hostDir)).toEqual(['keep'])
  })
})
