/**
 * `slipway dimg build` on a project that has every stage kind, built from the busybox base in a real
 * registry, run with umoci + bwrap; then rebuilt after each kind of change.
 */
import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {pushBaseImage} from '../../helpers/base-image.js'
import {freshHome} from '../../helpers/cli.js'
import {makeProject, type TestProject} from '../../helpers/project.js'
import {startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {runImage, unpackImage} from '../../helpers/run-image.js'
import {removeTempDir} from '../../helpers/tmp.js'
import {
  build,
  buildEnv,
  builtStages,
  type BuildReport,
  dimgReport,
  finalStageName,
  layerEntries,
  manifestOf,
  skopeoInspect,
  stageSignature,
  storeDir,
  storeRefs,
} from './support.js'

const ALL_STAGES = [
  'from',
  'beforeInstall',
  'importsBeforeInstall',
  'gitArchive',
  'install',
  'importsAfterInstall',
  'beforeSetup',
  'importsBeforeSetup',
  'setup',
  'importsAfterSetup',
  'docker',
]

const dappfile = (opts: {setup?: string; greeting?: string; from?: string} = {}): string => `
artifact: lib
from: localhost:5000/base/busybox:latest
shell:
  install:
    - mkdir -p /out
    - echo "made by lib" > /out/lib.txt
---
dimg: app
from: ${opts.from ?? 'localhost:5000/base/busybox:latest'}
git:
  - add: /src
    to: /app
    stageDependencies:
      install: [deps.txt]
import:
  - {artifact: lib, add: /out, to: /imports/before-install, before: install}
  - {artifact: lib, add: /out, to: /imports/after-install, after: install}
  - {artifact: lib, add: /out, to: /imports/before-setup, before: setup}
  - {artifact: lib, add: /out, to: /imports/after-setup, after: setup}
shell:
  beforeInstall:
    - rm /etc/group
    - mkdir -p /data && echo old > /data/old.txt && echo keep > /data/keep.txt
  install:
    - cat /app/deps.txt > /installed-deps
    - ls /imports > /install-saw-imports
    - mkdir /data.new && echo new > /data.new/new.txt && rm -rf /data && mv /data.new /data
    - echo shared > /hardlink-a && ln /hardlink-a /hardlink-b
  beforeSetup:
    - echo before-setup > /before-setup
  setup:
    - ${opts.setup ?? 'ls /imports > /setup-saw-imports'}
docker:
  ENV: {GREETING: ${opts.greeting ?? 'hello'}}
  CMD: ["/bin/sh", "-c", "echo $GREETING; cat /app/message.txt"]
`

describe('dimg build: every stage kind', () => {
  let reg: TestRegistry
  let project: TestProject
  let home: string
  let env: Record<string, string>
  let first: BuildReport

  beforeAll(async () => {
    reg = await startRegistry('plain')
    await pushBaseImage(reg)
    project = await makeProject({
      registryHost: reg.host,
      dappfile: dappfile(),
      files: {
        'src/deps.txt': 'deps v1\n',
        'src/message.txt': 'message v1\n',
        'src/old.txt': 'going away\n',
      },
    })
    home = freshHome()
    env = buildEnv(reg, home)
    first = await build(project.dir, env)
  })
  afterAll(async () => {
    await reg?.stop()
    if (home) await removeTempDir(home)
  })

  it('builds every stage kind, artifact first, and the image runs', async () => {
    expect(first.project).toBe('app')
    expect(first.dimgs.map(d => d.listedAs)).toEqual(['lib', 'app'])
    expect(dimgReport(first, 'lib').stages.map(s => s.name)).toEqual(['from', 'install'])
    expect(dimgReport(first, 'app').stages.map(s => s.name)).toEqual(ALL_STAGES)
    // lib's `from` is the same stage as app's, so one of them may find it cached
    expect(builtStages(first, 'app').filter(s => s !== 'from')).toEqual(ALL_STAGES.slice(1))
    expect(first.built + first.cached).toBe(13)

    const out = await runImage(storeDir(home), finalStageName(first, 'app'))
    expect(out).toBe('hello\nmessage v1\n')
  })

  it('puts each stage’s files in the image: git files, imports at all four points, shell results', async () => {
    const image = await unpackImage(storeDir(home), finalStageName(first, 'app'))
    try {
      const root = image.rootfs
      expect(await readFile(join(root, 'app/deps.txt'), 'utf8')).toBe('deps v1\n')
      expect(await readFile(join(root, 'installed-deps'), 'utf8')).toBe('deps v1\n')
      for (const at of ['before-install', 'after-install', 'before-setup', 'after-setup']) {
        expect(await readFile(join(root, 'imports', at, 'lib.txt'), 'utf8')).toBe('made by lib\n')
      }
      // each import happened at its own point: install saw only the first, setup the first three
      expect(await readFile(join(root, 'install-saw-imports'), 'utf8')).toBe('before-install\n')
      expect(await readFile(join(root, 'setup-saw-imports'), 'utf8')).toBe('after-install\nbefore-install\nbefore-setup\n')
      expect(await readFile(join(root, 'before-setup'), 'utf8')).toBe('before-setup\n')
      // whiteouts: a deleted base file, a replaced directory
      expect(existsSync(join(root, 'etc/group'))).toBe(false)
      expect(existsSync(join(root, 'etc/passwd'))).toBe(true)
      expect(existsSync(join(root, 'data/old.txt'))).toBe(false)
      expect(existsSync(join(root, 'data/keep.txt'))).toBe(false)
      expect(await readFile(join(root, 'data/new.txt'), 'utf8')).toBe('new\n')
      // the runtime config came from the docker stage
      expect(image.process.env).toContain('GREETING=hello')
    } finally {
      await image.remove()
    }
  })

  it('writes a whiteout for a deleted file, an opaque marker for a replaced directory, and hard links as links', async () => {
    const manifest = await manifestOf(home, finalStageName(first, 'app'))
    // from (1 layer) + beforeInstall, importsBeforeInstall, gitArchive, install, …
    const beforeInstall = manifest.layers[1]
    const install = manifest.layers[4]
    const biEntries = await layerEntries(home, beforeInstall.digest)
    expect(biEntries.map(e => e.name)).toContain('etc/.wh.group')
    const inEntries = await layerEntries(home, install.digest)
    const names = inEntries.map(e => e.name)
    expect(names).toContain('data/.wh..wh..opq')
    expect(names).toContain('data/new.txt')
    expect(names).not.toContain('data/old.txt')
    const links = inEntries.filter(e => e.name === 'hardlink-a' || e.name === 'hardlink-b')
    expect(links.map(e => e.type).sort()).toEqual(['file', 'link'])
    expect(links.find(e => e.type === 'link')?.linkname).toBe(links.find(e => e.type === 'file')?.name)

    const image = await unpackImage(storeDir(home), finalStageName(first, 'app'))
    try {
      const out = await image.run(['/bin/sh', '-c', 'stat -c %i /hardlink-a /hardlink-b; cat /hardlink-b'])
      const [a, b, content] = out.stdout.split('\n')
      expect(a).toBe(b)
      expect(content).toBe('shared')
    } finally {
      await image.remove()
    }
  })

  it('every stage in the store is readable by skopeo and umoci', async () => {
    const refs = (await storeRefs(home)).filter(r => r.startsWith('dimgstage-'))
    expect(refs).toHaveLength(new Set([...dimgReport(first, 'lib').stages, ...dimgReport(first, 'app').stages].map(s => s.signature)).size)
    for (const ref of refs) {
      const info = await skopeoInspect(home, ref)
      expect(info.Labels?.['dev.slipway.stage.signature']).toBe(ref.split(':')[1])
    }
    // umoci unpacks every stage (the unpack checks each layer's digest and diff id)
    for (const ref of refs) {
      const image = await unpackImage(storeDir(home), ref)
      await image.remove()
    }
  })

  it('rebuilds nothing when nothing changed', async () => {
    const refsBefore = await storeRefs(home)
    const again = await build(project.dir, env)
    expect(again.built).toBe(0)
    expect(again.cached).toBe(13)
    expect(dimgReport(again, 'app').signature).toBe(dimgReport(first, 'app').signature)
    expect(await storeRefs(home)).toEqual(refsBefore)
  })

  it('a commit to a file outside stageDependencies builds only gitLatestPatch and docker', async () => {
    await project.commit('change message, drop old.txt', {'src/message.txt': 'message v2\n', 'src/old.txt': null})
    const report = await build(project.dir, env)
    expect(builtStages(report, 'lib')).toEqual([])
    expect(builtStages(report, 'app')).toEqual(['gitLatestPatch', 'docker'])
    expect(dimgReport(report, 'app').stages.map(s => s.name)).toEqual([...ALL_STAGES.slice(0, -1), 'gitLatestPatch', 'docker'])
    const image = await unpackImage(storeDir(home), finalStageName(report, 'app'))
    try {
      expect((await image.run()).stdout).toBe('hello\nmessage v2\n')
      expect(existsSync(join(image.rootfs, 'app/old.txt'))).toBe(false)
      expect(existsSync(join(image.rootfs, 'app/deps.txt'))).toBe(true)
    } finally {
      await image.remove()
    }
    const manifest = await manifestOf(home, finalStageName(report, 'app'))
    const patch = manifest.layers[manifest.layers.length - 1]
    const patchFiles = (await layerEntries(home, patch.digest)).filter(e => e.type !== 'directory')
    expect(patchFiles.map(e => e.name).sort()).toEqual(['app/.wh.old.txt', 'app/message.txt'])
  })

  it('a stageDependencies change rebuilds install and every stage after it', async () => {
    const before = await build(project.dir, env)
    await project.commit('bump deps', {'src/deps.txt': 'deps v2\n'})
    const report = await build(project.dir, env)
    expect(builtStages(report, 'app')).toEqual(['install', 'importsAfterInstall', 'beforeSetup', 'importsBeforeSetup', 'setup', 'importsAfterSetup', 'docker'])
    for (const s of ['from', 'beforeInstall', 'importsBeforeInstall', 'gitArchive']) {
      expect(stageSignature(report, 'app', s)).toBe(stageSignature(before, 'app', s))
    }
    const out = await runImage(storeDir(home), finalStageName(report, 'app'), ['/bin/cat', '/installed-deps', '/app/message.txt'])
    expect(out).toBe('deps v2\nmessage v2\n')
  })

  it('a changed shell command rebuilds its stage and the ones after it', async () => {
    await project.commit('new setup command', {'dappfile.yaml': dappfile({setup: 'echo changed > /setup-changed'})})
    const report = await build(project.dir, env)
    expect(builtStages(report, 'app')).toEqual(['setup', 'importsAfterSetup', 'docker'])
    expect(await runImage(storeDir(home), finalStageName(report, 'app'), ['/bin/cat', '/setup-changed'])).toBe('changed\n')
  })

  it('a docker-only change rebuilds only the docker stage', async () => {
    await project.commit('new greeting', {'dappfile.yaml': dappfile({setup: 'echo changed > /setup-changed', greeting: 'bonjour'})})
    const report = await build(project.dir, env)
    expect(builtStages(report, 'lib')).toEqual([])
    expect(builtStages(report, 'app')).toEqual(['docker'])
    expect(await runImage(storeDir(home), finalStageName(report, 'app'))).toBe('bonjour\nmessage v2\n')
  })

  it('a changed base reference rebuilds every stage of the dimg', async () => {
    await pushBaseImage(reg, 'base/other')
    await project.commit('other base', {
      'dappfile.yaml': dappfile({setup: 'echo changed > /setup-changed', greeting: 'bonjour', from: 'localhost:5000/base/other:latest'}),
    })
    const report = await build(project.dir, env)
    expect(builtStages(report, 'lib')).toEqual([])
    expect(builtStages(report, 'app')).toEqual(ALL_STAGES)
    expect(await runImage(storeDir(home), finalStageName(report, 'app'))).toBe('bonjour\nmessage v2\n')
  })
})
