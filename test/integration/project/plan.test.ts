import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {SlipwayError} from '../../../src/errors.js'
import {loadProject, planProject, type PlanProjectOptions, type ProjectPlan, stagesListingJson} from '../../../src/project/index.js'
import {makeTempDirSync} from '../../helpers/tmp.js'
import {formatStagesListing, GitFixture} from './support.js'

const DAPPFILE = `dimg: app
from: alpine:3.19
fromCacheVersion: 1
git:
  - add: /
    to: /app
    excludePaths: [test, dappfile.yaml]
    stageDependencies:
      install: [package.json]
      setup: [src]
shell:
  beforeInstall: [apk add make]
  install: [cd /app && make deps]
  beforeSetup: [cd /app && make prepare]
  setup: [cd /app && make]
  cacheVersion: 1
import:
  - {artifact: tools, add: /out/tool, to: /usr/bin/tool, before: install}
  - {artifact: tools, add: /out/lib, after: setup}
docker:
  WORKDIR: /app
  ENV: {MODE: prod}
  CMD: [/app/run]
mount:
  - {from: build_dir, to: /root/.cache}
---
artifact: tools
from: golang:1.22
git:
  - add: /tools
    to: /src
shell:
  install: [cd /src && go build -o /out/tool]
`

const FILES = {
  'package.json': '{"name":"app"}\n',
  'src/main.c': 'int main(void) { return 0; }\n',
  'README.md': '# app\n',
  'test/check.sh': 'true\n',
  'tools/main.go': 'package main\n',
}

interface Snapshot {
  plan: ProjectPlan
  commit: string
}

/** stage name → signature for one dimg of a plan. */
function sigs(plan: ProjectPlan, name: string): Record<string, string> {
  const d = plan.dimgs.find((x) => x.name === name)!
  return Object.fromEntries(d.stages.map((s) => [s.name, s.signature]))
}

/** Stage names whose signature differs (or that appeared/disappeared) between two plans of a dimg. */
function moved(a: ProjectPlan, b: ProjectPlan, name: string): string[] {
  const sa = sigs(a, name)
  const sb = sigs(b, name)
  const names = [...new Set([...Object.keys(sa), ...Object.keys(sb)])]
  const order = b.dimgs.find((x) => x.name === name)!.stages.map((s) => s.name as string)
  return names.filter((n) => sa[n] !== sb[n]).sort((x, y) => order.indexOf(x) - order.indexOf(y))
}

/** A stages cache that holds every stage of the plans, each recording the commit it was first built at. */
function cacheOf(...snapshots: Snapshot[]): PlanProjectOptions['recordedCommitOf'] {
  const recorded = new Map<string, string>()
  for (const {plan} of snapshots) for (const d of plan.dimgs) for (const s of d.stages) if (s.gitContentRef && !recorded.has(s.signature)) recorded.set(s.signature, s.gitContentRef)
  return async (signature) => recorded.get(signature)
}

describe('stage signatures against a real git repository', () => {
  let repo: GitFixture
  let before: Snapshot

  async function snapshot(opts: PlanProjectOptions = {}, dev = false): Promise<Snapshot> {
    const project = await loadProject(repo.dir, {dev})
    return {plan: await planProject(project, opts), commit: repo.git('rev-parse', 'HEAD')}
  }

  beforeEach(async () => {
    repo = new GitFixture()
    repo.commit('initial', {...FILES, 'dappfile.yaml': DAPPFILE})
    before = await snapshot()
  })
  afterEach(() => repo.remove())

  it('plans artifacts first and every non-empty stage in order', () => {
    expect(before.plan.dimgs.map((d) => [d.name, d.isArtifact])).toEqual([
      ['tools', true],
      ['app', false],
    ])
    expect(before.plan.dimgs[1].stages.map((s) => s.name)).toEqual([
      'from',
      'beforeInstall',
      'importsBeforeInstall',
      'gitArchive',
      'install',
      'beforeSetup',
      'setup',
      'importsAfterSetup',
      'docker',
    ])
    expect(before.plan.dimgs[0].stages.map((s) => s.name)).toEqual(['from', 'gitArchive', 'install'])
  })

  // Each row: a change to the project, and exactly the stages of `app` whose signatures it must move.
  const rows: {what: string; change: (r: GitFixture) => void; moves: string[]}[] = [
    {what: 'editing a file outside stageDependencies', change: (r) => r.commit('readme', {'README.md': '# app v2\n'}), moves: ['gitLatestPatch', 'docker']},
    {what: 'editing package.json listed under install', change: (r) => r.commit('deps', {'package.json': '{"name":"app","v":2}\n'}), moves: ['install', 'beforeSetup', 'setup', 'importsAfterSetup', 'docker']},
    {what: 'editing a file under setup dependencies', change: (r) => r.commit('code', {'src/main.c': 'int main(void) { return 1; }\n'}), moves: ['setup', 'importsAfterSetup', 'docker']},
    {what: 'adding a file under setup dependencies', change: (r) => r.commit('code', {'src/util.c': '\n'}), moves: ['setup', 'importsAfterSetup', 'docker']},
    {what: 'editing an excluded file', change: (r) => r.commit('test', {'test/check.sh': 'false\n'}), moves: []},
    {what: 'a new commit with an identical tree', change: (r) => r.commit('empty'), moves: []},
    {
      what: 'reordering YAML keys',
      change: (r) => r.commit('reorder', {'dappfile.yaml': reorderTopKeys(DAPPFILE)}),
      moves: [],
    },
    // signed in the from stage, as dapp and werf sign it (issue 17): stages built with the old mount are not reused
    {what: 'moving a mount', change: (r) => r.commit('mount', {'dappfile.yaml': DAPPFILE.replace('/root/.cache', '/var/cache')}), moves: ALL_APP()},
    {what: 'the base image', change: (r) => r.commit('from', {'dappfile.yaml': DAPPFILE.replace('alpine:3.19', 'alpine:3.20')}), moves: ALL_APP()},
    {what: 'fromCacheVersion', change: (r) => r.commit('fcv', {'dappfile.yaml': DAPPFILE.replace('fromCacheVersion: 1', 'fromCacheVersion: 2')}), moves: ALL_APP()},
    {what: 'a beforeInstall command', change: (r) => r.commit('bi', {'dappfile.yaml': DAPPFILE.replace('apk add make', 'apk add make gcc')}), moves: ALL_APP().slice(1)},
    {what: 'shell.cacheVersion', change: (r) => r.commit('cv', {'dappfile.yaml': DAPPFILE.replace('  cacheVersion: 1', '  cacheVersion: 2')}), moves: ALL_APP().slice(1)},
    {what: 'installCacheVersion', change: (r) => r.commit('icv', {'dappfile.yaml': DAPPFILE.replace('  cacheVersion: 1', '  cacheVersion: 1\n  installCacheVersion: x')}), moves: ALL_APP().slice(4)},
    {what: 'a git mapping', change: (r) => r.commit('map', {'dappfile.yaml': DAPPFILE.replace('excludePaths: [test, dappfile.yaml]', 'excludePaths: [test, dappfile.yaml, docs]')}), moves: ALL_APP().slice(3)},
    {what: 'an import', change: (r) => r.commit('imp', {'dappfile.yaml': DAPPFILE.replace('to: /usr/bin/tool', 'to: /usr/local/bin/tool')}), moves: ALL_APP().slice(2)},
    {what: 'the imported artifact', change: (r) => r.commit('art', {'tools/main.go': 'package main // v2\n'}), moves: ALL_APP().slice(2)},
    {what: 'a setup command', change: (r) => r.commit('setup', {'dappfile.yaml': DAPPFILE.replace('&& make]', '&& make all]')}), moves: ['setup', 'importsAfterSetup', 'docker']},
    {what: 'a docker instruction', change: (r) => r.commit('docker', {'dappfile.yaml': DAPPFILE.replace('MODE: prod', 'MODE: dev')}), moves: ['docker']},
  ]

  it.each(rows)('$what moves exactly $moves', async ({change, moves}) => {
    change(repo)
    const after = await snapshot({recordedCommitOf: cacheOf(before)})
    expect(moved(before.plan, after.plan, 'app')).toEqual(moves)
  })

  it('puts the mapped diff in gitLatestPatch and records commits', async () => {
    const first = before.commit
    const second = repo.commit('readme', {'README.md': '# app v2\n'})
    const after = await snapshot({recordedCommitOf: cacheOf(before)})
    const app = after.plan.dimgs[1]
    const patch = app.stages.find((s) => s.name === 'gitLatestPatch')!
    expect(patch.inputs).toMatchObject({kind: 'gitLatestPatch', fromCommit: first, revision: {commit: second, contentRef: second}, changedFiles: 1})
    expect(app.stages.find((s) => s.name === 'gitArchive')!.gitCommit).toBe(second)
    // Without a stages cache every stage is built from the current content: no patch, so skipped.
    const uncached = await snapshot()
    expect(uncached.plan.dimgs[1].stages.map((s) => s.name)).not.toContain('gitLatestPatch')
    // A second change on top of the cached patch stage: the patch is from the commit recorded before it.
    repo.commit('readme again', {'README.md': '# app v3\n'})
    const third = await snapshot({recordedCommitOf: cacheOf(before, after)})
    const patch3 = third.plan.dimgs[1].stages.find((s) => s.name === 'gitLatestPatch')!
    expect(patch3.inputs).toMatchObject({fromCommit: first, changedFiles: 1})
    expect(patch3.signature).not.toBe(patch.signature)
  })

  it('records the new commit but moves nothing for a commit with an identical tree', async () => {
    const commit = repo.commit('empty')
    const after = await snapshot({recordedCommitOf: cacheOf(before)})
    expect(after.plan.dimgs[1].stages.find((s) => s.name === 'gitArchive')!.gitCommit).toBe(commit)
    expect(after.plan.project.headCommit).toBe(commit)
    expect(commit).not.toBe(before.commit)
  })

  it('with --dev counts uncommitted changes and never shares signatures with normal mode', async () => {
    // a stages cache that recorded HEAD for every stage
    const cachedAtHead: PlanProjectOptions = {recordedCommitOf: async () => before.commit}
    const devClean = await snapshot(cachedAtHead, true)
    const normal = new Set(before.plan.dimgs.flatMap((d) => d.stages.map((s) => s.signature)))
    for (const d of devClean.plan.dimgs) for (const s of d.stages) expect(normal.has(s.signature)).toBe(false)
    expect(devClean.plan.project.dev).toBe(true)

    repo.write({'package.json': '{"name":"app","dirty":true}\n', 'src/new.c': '\n'})
    // Normal mode ignores the work tree.
    expect(moved(before.plan, (await snapshot()).plan, 'app')).toEqual([])
    const devDirty = await snapshot(cachedAtHead, true)
    expect(moved(devClean.plan, devDirty.plan, 'app')).toEqual(['install', 'beforeSetup', 'setup', 'importsAfterSetup', 'gitLatestPatch', 'docker'])
    const patch = devDirty.plan.dimgs[1].stages.find((s) => s.name === 'gitLatestPatch')!
    expect(patch.inputs).toMatchObject({fromCommit: before.commit, changedFiles: 2})
    // Ignored files do not count.
    repo.write({'.gitignore': 'build/\n'})
    const withIgnore = await snapshot(cachedAtHead, true)
    repo.write({'build/out.o': 'x'})
    expect(moved(withIgnore.plan, (await snapshot(cachedAtHead, true)).plan, 'app')).toEqual([])
    expect(repo.git('status', '--porcelain')).toContain('package.json') // the user's index is untouched
    expect(repo.git('diff', '--cached', '--name-only')).toBe('')
  })

  it('lists the stages in the seeds format, artifacts included', async () => {
    const listing = formatStagesListing(before.plan, 'localhost:5000/test')
    const lines = listing.trimEnd().split('\n')
    expect(lines[0]).toBe('tools')
    expect(lines[4]).toBe('app')
    expect(lines.length).toBe(2 + 3 + 9)
    for (const line of lines.filter((l) => l.startsWith(' '))) expect(line).toMatch(/^  localhost:5000\/test:dimgstage-[a-f0-9]{64}$/)
    expect(lines[5]).toBe(`  localhost:5000/test:dimgstage-${before.plan.dimgs[1].stages[0].signature}`)
    const json = stagesListingJson(before.plan, 'localhost:5000/test')
    expect(json.dimgs.map((d) => [d.name, d.isArtifact, d.stages.length])).toEqual([
      ['tools', true, 3],
      ['app', false, 9],
    ])
    expect(json.dimgs[1].stages[8]).toMatchObject({name: 'docker', image: lines[13].trim()})
  })

  it('filters dimgs and refuses unknown names, listing the known ones', async () => {
    const project = await loadProject(repo.dir)
    await expect(planProject(project, {dimgs: ['nope']})).rejects.toThrow(/unknown dimg "nope"/)
    await expect(planProject(project, {dimgs: ['nope']})).rejects.toMatchObject({kind: 'usage', hint: 'the config defines: app'})
    const plan = await planProject(project, {dimgs: ['app']})
    expect(plan.dimgs.map((d) => d.name)).toEqual(['tools', 'app'])
  })

  it('resolves fromLatest through the injected resolver', async () => {
    repo.commit('latest', {'dappfile.yaml': DAPPFILE.replace('fromCacheVersion: 1', 'fromLatest: true')})
    const project = await loadProject(repo.dir)
    const seen: string[] = []
    const resolver = (digit: string) => async (ref: string) => {
      seen.push(ref)
      return `sha256:${digit.repeat(64)}`
    }
    const one = await planProject(project, {resolveFromDigest: resolver('1')})
    const two = await planProject(project, {resolveFromDigest: resolver('2')})
    expect(seen).toEqual(['alpine:3.19', 'alpine:3.19'])
    expect(moved(one, two, 'app')).toEqual(ALL_APP())
    await expect(planProject(project)).rejects.toBeInstanceOf(SlipwayError)
  })
})

function ALL_APP(): string[] {
  return ['from', 'beforeInstall', 'importsBeforeInstall', 'gitArchive', 'install', 'beforeSetup', 'setup', 'importsAfterSetup', 'docker']
}

/** The same dappfile with every document's top-level blocks in reverse order. */
function reorderTopKeys(text: string): string {
  return text
    .split('---\n')
    .map((doc) => {
      const blocks: string[] = []
      for (const line of doc.split('\n')) {
        if (line === '') continue
        if (/^\S/.test(line)) blocks.push(line)
        else blocks[blocks.length - 1] += `\n${line}`
      }
      return `${blocks.reverse().join('\n')}\n`
    })
    .join('---\n')
}

describe('projects', () => {
  it('names the project after origin, else the git top directory, else the directory', async () => {
    const repo = new GitFixture('named')
    try {
      repo.commit('init', {'sub/dappfile.yaml': 'from: alpine\n'})
      const top = repo.dir.split('/').pop()!
      expect((await loadProject(join(repo.dir, 'sub'))).name).toBe(top)
      repo.git('remote', 'add', 'origin', 'git@gitlab.example:group/shop-backend.git')
      const project = await loadProject(join(repo.dir, 'sub'))
      expect(project.name).toBe('shop-backend')
      const plan = await planProject(project)
      // The unnamed dimg is listed under the project's name.
      expect(formatStagesListing(plan, 'r.example/x').split('\n')[0]).toBe('shop-backend')
      expect(plan.dimgs[0].stages.map((s) => s.name)).toEqual(['from'])
    } finally {
      repo.remove()
    }
  })

  it('works without git when nothing is mapped, and says why git mappings need it', async () => {
    const dir = makeTempDirSync('nogit')
    try {
      writeFileSync(join(dir, 'dappfile.yaml'), 'from: alpine\nshell: {install: [make]}\n')
      const project = await loadProject(dir)
      expect(project.git).toBeUndefined()
      expect(project.name).toBe(dir.split('/').pop())
      expect((await planProject(project)).dimgs[0].stages.map((s) => s.name)).toEqual(['from', 'install'])
      writeFileSync(join(dir, 'dappfile.yaml'), 'from: alpine\ngit: [{to: /app}]\n')
      await expect(loadProject(dir)).rejects.toMatchObject({kind: 'config', message: expect.stringMatching(/maps git paths but .* is not in a git repository/)})
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('says which config file names it looked for', async () => {
    const dir = makeTempDirSync('empty')
    try {
      await expect(loadProject(dir)).rejects.toMatchObject({kind: 'config', message: expect.stringContaining('dappfile.yaml, dappfile.yml, werf.yaml')})
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
