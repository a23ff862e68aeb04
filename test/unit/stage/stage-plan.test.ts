import {parseDappfile} from '../../../src/config/load.js'
import type {DimgConfig} from '../../../src/config/types.js'
import {dependencyChecksum, patchContent} from '../../../src/stage/content.js'
import {STAGE_NAMES} from '../../../src/stage/names.js'
import {globsMatcher, pathMapper} from '../../../src/stage/paths.js'
import {completeStages, planBaseStages, type DimgFacts, type PlannedStage} from '../../../src/stage/stage-plan.js'

const REV = {commit: 'a'.repeat(40), contentRef: 'a'.repeat(40)}
const ARTIFACT_SIG = 'b'.repeat(64)

const FULL = `dimg: app
from: alpine:3.19
git:
  - add: /
    to: /app
    stageDependencies: {install: package.json}
shell:
  beforeInstall: [apk add make]
  install: [make deps]
  beforeSetup: [make prepare]
  setup: [make]
import:
  - {artifact: tools, add: /a, before: install}
  - {artifact: tools, add: /b, after: install}
  - {artifact: tools, add: /c, before: setup}
  - {artifact: tools, add: /d, after: setup}
docker:
  CMD: [/app/run]
---
artifact: tools
from: golang:1.22
`

function dimgOf(text: string, index = 0): DimgConfig {
  return parseDappfile(text, 'dappfile.yaml').dimgs[index]
}

function plan(dimg: DimgConfig, facts: Partial<DimgFacts> = {}, dev = false): PlannedStage[] {
  const full: DimgFacts = {
    revision: dimg.git.length > 0 ? REV : undefined,
    dependencyChecksums: dimg.git.map(() => ({install: 'c'.repeat(64)})),
    artifactSignatures: {tools: ARTIFACT_SIG},
    ...facts,
  }
  const base = planBaseStages(dimg, full, {dev})
  return completeStages(dimg, base, undefined, full, {dev})
}

describe('planBaseStages/completeStages', () => {
  it('plans every stage in dapp order, each chained to the one before', () => {
    const stages = plan(dimgOf(FULL))
    expect(stages.map((s) => s.name)).toEqual(STAGE_NAMES.filter((n) => n !== 'gitLatestPatch' && n !== 'buildArtifact'))
    stages.forEach((s, i) => expect(s.parentSignature).toBe(i === 0 ? null : stages[i - 1].signature))
    expect(stages.find((s) => s.name === 'gitArchive')!.gitCommit).toBe(REV.commit)
    expect(stages.find((s) => s.name === 'beforeInstall')!.gitCommit).toBeUndefined()
    expect(stages.find((s) => s.name === 'install')!.inputs).toMatchObject({kind: 'shell', git: {revision: REV}, dependencies: [{mapping: 0, checksum: 'c'.repeat(64)}]})
  })

  it('skips empty stages', () => {
    expect(plan(dimgOf('from: alpine\n')).map((s) => s.name)).toEqual(['from'])
    expect(plan(dimgOf('from: alpine\nshell: {setup: [make], cacheVersion: 3}\ndocker: {USER: app}\n')).map((s) => s.name)).toEqual(['from', 'setup', 'docker'])
  })

  it('adds gitLatestPatch when there is a patch', () => {
    const dimg = dimgOf(FULL)
    const facts: DimgFacts = {revision: REV, dependencyChecksums: [{}], artifactSignatures: {tools: ARTIFACT_SIG}}
    const base = planBaseStages(dimg, facts, {dev: false})
    const stages = completeStages(dimg, base, {fromCommit: 'f'.repeat(40), content: {checksum: 'd'.repeat(64), changedFiles: 2}}, facts, {dev: false})
    expect(stages.map((s) => s.name).slice(-2)).toEqual(['gitLatestPatch', 'docker'])
    expect(stages[stages.length - 2].signedContent).toEqual({diff: 'd'.repeat(64)})
  })

  it('does not move when YAML keys are reordered or written in another form', () => {
    const reordered = `artifact: tools
from: golang:1.22
---
docker:
  CMD: [/app/run]
import:
  - {add: /a, artifact: tools, before: install}
  - {after: install, add: /b, artifact: tools}
  - {artifact: tools, before: setup, add: /c}
  - {artifact: tools, add: /d, after: setup, to: /d}
shell:
  setup: make
  beforeSetup: [make prepare]
  install: [make deps]
  beforeInstall: [apk add make]
git:
  - stageDependencies: {install: [package.json]}
    to: /app
from: alpine:3.19
dimg: app
`
    expect(plan(dimgOf(reordered, 1)).map((s) => s.signature)).toEqual(plan(dimgOf(FULL)).map((s) => s.signature))
  })

  it('leaves the artifact name and stageDependencies globs out of the signatures', () => {
    const before = plan(dimgOf(FULL)).map((s) => s.signature)
    const renamed = FULL.replaceAll('tools', 'toolbox')
    expect(plan(dimgOf(renamed), {artifactSignatures: {toolbox: ARTIFACT_SIG}}).map((s) => s.signature)).toEqual(before)
  })

  it('signs the mounts in the from stage, as dapp and werf do: adding or moving one moves every stage, reordering them none', () => {
    const withMounts = (mounts: string): string[] => plan(dimgOf(FULL.replace('docker:\n', `mount: ${mounts}\ndocker:\n`))).map((s) => s.signature)
    const before = plan(dimgOf(FULL)).map((s) => s.signature)
    const cache = withMounts('[{from: build_dir, to: /cache}, {fromPath: ../shared, to: /shared}]')
    cache.forEach((sig, i) => expect(sig).not.toBe(before[i]))
    const moved = withMounts('[{from: build_dir, to: /var/cache}, {fromPath: ../shared, to: /shared}]')
    moved.forEach((sig, i) => expect(sig).not.toBe(cache[i]))
    expect(withMounts('[{from: tmp_dir, to: /cache}, {fromPath: ../shared, to: /shared}]')[0]).not.toBe(cache[0])
    expect(withMounts('[{from: build_dir, to: /cache}, {fromPath: /srv/shared, to: /shared}]')[0]).not.toBe(cache[0])
    expect(withMounts('[{fromPath: ../shared, to: /shared}, {from: build_dir, to: /cache/}]')).toEqual(cache)
    expect(plan(dimgOf(FULL.replace('docker:\n', 'mount: [{from: build_dir, to: /cache}]\ndocker:\n')))[0].signedContent).toMatchObject({mounts: [{from: 'build_dir', to: '/cache'}]})
  })

  it('moves the import stages when the artifact changes, and dev mode moves everything', () => {
    const before = plan(dimgOf(FULL))
    const after = plan(dimgOf(FULL), {artifactSignatures: {tools: 'e'.repeat(64)}})
    const firstMoved = after.findIndex((s, i) => s.signature !== before[i].signature)
    expect(after[firstMoved].name).toBe('importsBeforeInstall')
    expect(after.slice(firstMoved).every((s, i) => s.signature !== before[firstMoved + i].signature)).toBe(true)
    const dev = plan(dimgOf(FULL), {}, true)
    dev.forEach((s, i) => expect(s.signature).not.toBe(before[i].signature))
  })

  it('covers the digest only with fromLatest', () => {
    const pinned = plan(dimgOf('from: alpine\n'), {fromDigest: `sha256:${'1'.repeat(64)}`})
    expect(pinned[0].signedContent).toEqual({image: 'alpine', fromCacheVersion: undefined, digest: undefined})
    const latest = (d: string) => plan(dimgOf('from: alpine\nfromLatest: true\n'), {fromDigest: d})[0].signature
    expect(latest(`sha256:${'1'.repeat(64)}`)).not.toBe(latest(`sha256:${'2'.repeat(64)}`))
  })
})

describe('images built on images (fromDimg, fromImage, fromArtifact…)', () => {
  const CHAIN = `dimg: base
from: alpine
shell: {install: [make]}
---
dimg: app
fromDimg: base
fromCacheVersion: 2
shell: {setup: [make app]}
`
  const BASE_SIG = '3'.repeat(64)

  it("signs the base dimg's last stage signature, not an image reference", () => {
    const app = dimgOf(CHAIN, 1)
    expect(app.fromDimg).toEqual({name: 'base', isArtifact: false})
    const stages = plan(app, {baseSignature: BASE_SIG})
    expect(stages[0].signedContent).toEqual({base: BASE_SIG, fromCacheVersion: '2'})
    expect(stages[0].inputs).toMatchObject({kind: 'from', base: {dimg: 'base', signature: BASE_SIG}})
  })

  it('moves every stage when the base dimg changes, and nothing else moves them', () => {
    const app = dimgOf(CHAIN, 1)
    const before = plan(app, {baseSignature: BASE_SIG}).map((s) => s.signature)
    const after = plan(app, {baseSignature: '4'.repeat(64)}).map((s) => s.signature)
    after.forEach((sig, i) => expect(sig).not.toBe(before[i]))
    expect(plan(app, {baseSignature: BASE_SIG, fromDigest: `sha256:${'1'.repeat(64)}`}).map((s) => s.signature)).toEqual(before)
  })

  it('reads every spelling of dapp and werf as the same base', () => {
    const sigs = ['fromDimg: base', 'fromImage: base'].map((line) => plan(dimgOf(CHAIN.replace('fromDimg: base', line), 1), {baseSignature: BASE_SIG})[0].signature)
    expect(sigs[0]).toBe(sigs[1])
    for (const key of ['fromDimgArtifact', 'fromImageArtifact', 'fromArtifact']) {
      const text = `artifact: tools\nfrom: alpine\n---\ndimg: app\n${key}: tools\n`
      expect(dimgOf(text, 1).fromDimg).toEqual({name: 'tools', isArtifact: true})
    }
  })
})

describe("dapp's buildArtifact stage", () => {
  const ARTIFACT = `artifact: tools
from: golang:1.22
git:
  - add: /
    to: /src
    stageDependencies: {buildArtifact: go.mod, setup: Makefile}
shell:
  setup: [make]
  buildArtifact: [make dist]
  buildArtifactCacheVersion: 1
docker: {ENV: {A: b}}
---
dimg: app
from: alpine
`
  const facts = (checksums: Record<string, string>): Partial<DimgFacts> => ({dependencyChecksums: [checksums]})
  const patch = {fromCommit: 'f'.repeat(40), content: {checksum: 'd'.repeat(64), changedFiles: 1}}
  const planWithPatch = (text: string, checksums: Record<string, string> = {buildArtifact: '1'.repeat(64), setup: '2'.repeat(64)}): PlannedStage[] => {
    const dimg = dimgOf(text)
    const full: DimgFacts = {revision: REV, dependencyChecksums: [checksums], artifactSignatures: {}}
    return completeStages(dimg, planBaseStages(dimg, full, {dev: false}), patch, full, {dev: false})
  }

  it('runs after setup and the git patch, before docker, bringing the git files up to date', () => {
    const stages = planWithPatch(ARTIFACT)
    expect(stages.map((s) => s.name)).toEqual(['from', 'gitArchive', 'setup', 'gitLatestPatch', 'buildArtifact', 'docker'])
    expect(stages[4].inputs).toMatchObject({kind: 'shell', stage: 'buildArtifact', commands: ['make dist'], stageCacheVersion: '1', git: {revision: REV}})
    expect(stages[4].gitCommit).toBe(REV.commit)
    expect(plan(dimgOf(ARTIFACT), facts({})).map((s) => s.name)).toEqual(['from', 'gitArchive', 'setup', 'buildArtifact', 'docker'])
  })

  it('signs its commands, buildArtifactCacheVersion and its stageDependencies, and nothing moves the stages before it', () => {
    const before = planWithPatch(ARTIFACT)
    const moves = (after: PlannedStage[]): string[] => after.filter((s, i) => s.signature !== before[i].signature).map((s) => s.name)
    expect(moves(planWithPatch(ARTIFACT.replace('make dist', 'make dist2')))).toEqual(['buildArtifact', 'docker'])
    expect(moves(planWithPatch(ARTIFACT.replace('buildArtifactCacheVersion: 1', 'buildArtifactCacheVersion: 2')))).toEqual(['buildArtifact', 'docker'])
    expect(moves(planWithPatch(ARTIFACT, {buildArtifact: '3'.repeat(64), setup: '2'.repeat(64)}))).toEqual(['buildArtifact', 'docker'])
  })

  it('is for artifacts only', () => {
    expect(() => dimgOf('dimg: app\nfrom: alpine\nshell: {buildArtifact: [make]}\n')).toThrow(/shell › buildArtifact: the buildArtifact stage is only for artifacts/)
  })
})

describe('remote git mappings', () => {
  const REMOTE = `from: alpine
git:
  - url: https://robot:t0ken@git.example/team/lib.git
    branch: main
    add: /
    to: /lib
shell: {install: [make]}
`
  const REMOTE_REV = {commit: 'e'.repeat(40), contentRef: 'e'.repeat(40), repository: '/home/x/git/abc'}

  it('signs the URL without credentials and the ref as written, not the commit', () => {
    const stages = plan(dimgOf(REMOTE), {revision: REMOTE_REV})
    const archive = stages.find((s) => s.name === 'gitArchive')!
    expect(archive.signedContent).toEqual({mappings: [{add: '/', to: '/lib', includePaths: [], excludePaths: [], remote: {url: 'https://git.example/team/lib.git', branch: 'main'}}]})
    expect(plan(dimgOf(REMOTE.replace('robot:t0ken', 'robot:other')), {revision: REMOTE_REV}).map((s) => s.signature)).toEqual(stages.map((s) => s.signature))
    expect(plan(dimgOf(REMOTE), {revision: {...REMOTE_REV, commit: 'f'.repeat(40), contentRef: 'f'.repeat(40)}}).map((s) => s.signature)).toEqual(stages.map((s) => s.signature))
    expect(plan(dimgOf(REMOTE.replace('branch: main', 'tag: v1')), {revision: REMOTE_REV}).find((s) => s.name === 'gitArchive')!.signature).not.toBe(archive.signature)
  })

  it("records the remote's commit as the content ref, never as the project's git commit", () => {
    const install = plan(dimgOf(REMOTE), {revision: REMOTE_REV}).find((s) => s.name === 'install')!
    expect(install.gitContentRef).toBe(REMOTE_REV.commit)
    expect(install.gitCommit).toBeUndefined()
    expect(install.inputs).toMatchObject({git: {revision: REMOTE_REV}})
  })

  it('takes branch, tag or commit only with a url, and one of them', () => {
    expect(() => dimgOf('from: alpine\ngit: [{branch: main, to: /x}]\n')).toThrow(/"branch" is only for a remote repository: add "url"/)
    expect(() => dimgOf('from: alpine\ngit: [{url: x, tag: a, commit: b, to: /x}]\n')).toThrow(/give one of "branch", "tag" or "commit", not "tag" and "commit"/)
  })
})

describe('paths', () => {
  it('matches a glob against a path or its parent directories', () => {
    const m = globsMatcher(['src', '*.json', 'lib/**/*.ts'])
    expect(['src/a/b.js', 'src', 'package.json', 'lib/x/y.ts', 'lib/y.ts'].map(m)).toEqual([true, true, true, true, true])
    expect(['srcx/a', 'a/package.json', 'lib/y.js'].map(m)).toEqual([false, false, false])
  })

  it('maps repository paths through add, includePaths and excludePaths', () => {
    const map = pathMapper({add: '/web', includePaths: ['src', 'package.json'], excludePaths: ['src/**/*.test.js']})
    expect(map('web/src/a.js')).toBe('src/a.js')
    expect(map('web/package.json')).toBe('package.json')
    expect(map('web/src/a.test.js')).toBeUndefined()
    expect(map('web/README.md')).toBeUndefined()
    expect(map('webx/src/a.js')).toBeUndefined()
  })
})

describe('content checksums', () => {
  const mapping = {add: '/', to: '/app', includePaths: [], excludePaths: ['test'], stageDependencies: {install: ['package.json']}}
  const files = [
    {path: 'package.json', mode: '100644', object: '1'.repeat(40)},
    {path: 'src/a.js', mode: '100644', object: '2'.repeat(40)},
  ]

  it('depends on the matching files only', () => {
    const sum = dependencyChecksum(mapping, 'install', files)!
    expect(sum).toMatch(/^[a-f0-9]{64}$/)
    expect(dependencyChecksum(mapping, 'install', [files[0], {...files[1], object: '3'.repeat(40)}])).toBe(sum)
    expect(dependencyChecksum(mapping, 'install', [{...files[0], mode: '100755'}, files[1]])).not.toBe(sum)
    expect(dependencyChecksum(mapping, 'setup', files)).toBeUndefined()
  })

  it('sees only mapped changes in the patch', () => {
    const change = {path: 'test/x.js', status: 'M', oldMode: '100644', newMode: '100644', oldObject: '1'.repeat(40), newObject: '2'.repeat(40)}
    expect(patchContent([mapping], [change])).toBeUndefined()
    const mapped = patchContent([mapping], [change, {...change, path: 'src/a.js'}])
    expect(mapped?.changedFiles).toBe(1)
  })
})
