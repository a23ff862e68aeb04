import {cleanupPlan, DEFAULT_KEEP_YOUNGER_THAN_MS, duration, type CleanupInput} from '../../../src/cleanup/cleanup-plan.js'
import {planToJson} from '../../../src/cleanup/deletion-plan.js'
import type {CleanupPolicy} from '../../../src/cleanup/policies.js'
import type {FinalImageRecord, StageInput} from '../../../src/cleanup/records.js'
import {SlipwayError} from '../../../src/errors.js'
import {commit, EXISTING, expectDependentsFirst, final, HOUR, NOW, PROJECT, readable, referenceStages, sig, stage} from './support.js'

function plan(stages: StageInput[], finals: FinalImageRecord[], policies: CleanupPolicy[], extra: Partial<CleanupInput> = {}) {
  return cleanupPlan({stages, finalImages: finals, project: PROJECT, policies, now: NOW, currentCacheVersion: '1', existingCommits: EXISTING, ...extra})
}

const APP_FINAL = [final('localhost:5000/proj/app:latest', 'app.docker')]

interface Case {
  name: string
  stages: StageInput[]
  finals: FinalImageRecord[]
  policies: CleanupPolicy[]
  extra?: Partial<CleanupInput>
  /** Stages deleted, in the expected order when it is the only valid one, else compared as a set. */
  deleted: string[]
  ordered?: boolean
  reasons?: Record<string, string[]>
  keep: Record<string, string>
}

const CASES: Case[] = [
  {
    name: 'improper-repo-cache keeps what the final image reaches through parents and imports (transitively)',
    stages: referenceStages(),
    finals: APP_FINAL,
    policies: ['improper-repo-cache'],
    deleted: ['app.docker2', 'app.install2'],
    ordered: true,
    keep: {},
  },
  {
    name: 'improper-repo-cache: a final image of the old chain keeps it, the unused current chain goes',
    stages: referenceStages(),
    finals: [final('localhost:5000/proj/app:old', 'app.docker2')],
    policies: ['improper-repo-cache'],
    deleted: ['app.docker', 'app.importsAfterSetup', 'app.install', 'assets.install', 'assets.from'],
    keep: {},
  },
  {
    name: 'improper-repo-cache: a final image naming a stage that is not in the cache protects nothing',
    stages: [stage('app.from'), stage('app.install', {parent: 'app.from'})],
    finals: [final('r/app:latest', 'elsewhere.docker')],
    policies: ['improper-repo-cache'],
    deleted: ['app.install', 'app.from'],
    ordered: true,
    keep: {},
  },
  {
    name: 'improper-repo-cache with --force and no final image deletes the whole cache',
    stages: referenceStages(),
    finals: [],
    policies: ['improper-repo-cache'],
    extra: {force: true},
    deleted: ['app.docker', 'app.docker2', 'app.importsAfterSetup', 'app.install2', 'app.install', 'assets.install', 'app.gitArchive', 'assets.from', 'app.from'],
    keep: {},
  },
  {
    name: 'improper-git-commit: the stage of a vanished commit and everything built on it',
    stages: referenceStages(),
    finals: APP_FINAL,
    policies: ['improper-git-commit'],
    deleted: ['app.docker2', 'app.install2'],
    ordered: true,
    reasons: {'app.docker2': ['improper-git-commit'], 'app.install2': ['improper-git-commit']},
    keep: {},
  },
  {
    name: 'improper-git-commit follows imports: an artifact of a vanished commit takes its importers down',
    stages: [
      stage('art.from'),
      stage('art.install', {parent: 'art.from', commits: ['gone']}),
      stage('app.from'),
      stage('app.importsBeforeInstall', {parent: 'app.from', imports: ['art.install']}),
      stage('app.setup', {parent: 'app.importsBeforeInstall', commits: ['c1']}),
      stage('other.from'),
    ],
    finals: [],
    policies: ['improper-git-commit'],
    deleted: ['app.setup', 'app.importsBeforeInstall', 'art.install'],
    ordered: true,
    keep: {},
  },
  {
    name: 'improper-git-commit keeps a stage a final image uses (in-use), and what it is built on',
    stages: referenceStages(),
    finals: [final('r/app:old', 'app.docker2')],
    policies: ['improper-git-commit'],
    deleted: [],
    keep: {'app.docker2': 'in-use', 'app.install2': 'in-use'},
  },
  {
    name: 'improper-git-commit with --force deletes what a final image uses',
    stages: referenceStages(),
    finals: [final('r/app:old', 'app.docker2')],
    policies: ['improper-git-commit'],
    extra: {force: true},
    deleted: ['app.docker2', 'app.install2'],
    ordered: true,
    keep: {},
  },
  {
    name: 'improper-git-commit with a predicate instead of a set',
    stages: referenceStages(),
    finals: [],
    policies: ['improper-git-commit'],
    extra: {existingCommits: (c: string) => c !== commit('c1')},
    // c1 vanished: both artifact and app chains from gitArchive on go; `gone` now "exists"
    deleted: ['app.docker', 'app.docker2', 'app.importsAfterSetup', 'app.install2', 'app.install', 'assets.install', 'app.gitArchive'],
    keep: {},
  },
  {
    name: 'improper-cache-version: only stages labelled with another cache version',
    stages: [
      stage('app.from', {cacheVersion: '0'}),
      stage('app.install', {parent: 'app.from', cacheVersion: '0'}),
      stage('new.from'),
      stage('new.install', {parent: 'new.from'}),
    ],
    finals: [],
    policies: ['improper-cache-version'],
    deleted: ['app.install', 'app.from'],
    ordered: true,
    keep: {},
  },
  {
    name: 'improper-cache-version keeps an old stage a current-version stage is built on (needed)',
    stages: [stage('app.from', {cacheVersion: '0'}), stage('app.install', {parent: 'app.from'})],
    finals: [],
    policies: ['improper-cache-version'],
    deleted: [],
    keep: {'app.from': 'needed'},
  },
  {
    name: 'improper-cache-version keeps old stages an old final image still uses',
    stages: [stage('app.from', {cacheVersion: '0'}), stage('app.install', {parent: 'app.from', cacheVersion: '0'}), stage('x.from', {cacheVersion: '0'})],
    finals: [final('r/app:v1', 'app.install')],
    policies: ['improper-cache-version'],
    deleted: ['x.from'],
    keep: {'app.from': 'in-use', 'app.install': 'in-use'},
  },
  {
    name: 'combined policies: the union, each deletion listing every policy that selected it',
    stages: [...referenceStages(), stage('old.from', {cacheVersion: '0'}), stage('old.install', {parent: 'old.from', cacheVersion: '0', commits: ['gone']})],
    finals: APP_FINAL,
    policies: ['improper-git-commit', 'improper-repo-cache', 'improper-cache-version'],
    deleted: ['app.docker2', 'app.install2', 'old.install', 'old.from'],
    reasons: {
      'app.docker2': ['improper-git-commit', 'improper-repo-cache'],
      'app.install2': ['improper-git-commit', 'improper-repo-cache'],
      'old.install': ['improper-cache-version', 'improper-git-commit', 'improper-repo-cache'],
      'old.from': ['improper-cache-version', 'improper-repo-cache'],
    },
    keep: {},
  },
  {
    name: 'a young selected stage is kept, and so is every selected stage it is built on',
    stages: [...referenceStages(), stage('app.docker3', {parent: 'app.install2', ageHours: 1})],
    finals: APP_FINAL,
    policies: ['improper-repo-cache', 'improper-git-commit'],
    deleted: ['app.docker2'],
    keep: {'app.docker3': 'too-young', 'app.install2': 'needed'},
  },
  {
    name: 'a young import keeps the artifact stages it imports from',
    stages: [
      stage('art.from'),
      stage('art.install', {parent: 'art.from'}),
      stage('app.from'),
      stage('app.importsAfterInstall', {parent: 'app.from', imports: ['art.install'], ageHours: 0.5}),
    ],
    finals: [final('r/app:x', 'unrelated.from')],
    policies: ['improper-repo-cache'],
    deleted: [],
    keep: {'app.importsAfterInstall': 'too-young', 'art.install': 'needed', 'art.from': 'needed', 'app.from': 'needed'},
  },
  {
    name: 'keepYoungerThanMs 0 gives no grace',
    stages: [stage('app.from', {ageHours: 0.01, cacheVersion: '0'})],
    finals: [],
    policies: ['improper-cache-version'],
    extra: {keepYoungerThanMs: 0},
    deleted: ['app.from'],
    keep: {},
  },
  {
    name: 'the grace period is configurable, and a stage from the future (clock skew) counts as young',
    stages: [stage('a.from', {ageHours: 5, cacheVersion: '0'}), stage('b.from', {ageHours: 7, cacheVersion: '0'}), stage('c.from', {ageHours: -3, cacheVersion: '0'})],
    finals: [],
    policies: ['improper-cache-version'],
    extra: {keepYoungerThanMs: 6 * HOUR},
    deleted: ['b.from'],
    keep: {'a.from': 'too-young', 'c.from': 'too-young'},
  },
  {
    name: 'stages with missing or malformed labels are never deleted by a policy, only reported',
    stages: [
      stage('app.from', {cacheVersion: '0'}),
      {signature: sig('bare')},
      {...stage('bad.parent'), parentSignature: 'xyz'},
      {...stage('bad.commit', {cacheVersion: '0'}), commits: ['not-a-commit']},
      {...stage('bad.created', {cacheVersion: '0'}), created: 'yesterday'},
      {...stage('bad.stage', {cacheVersion: '0'}), stage: 'compile'},
    ],
    finals: [],
    policies: ['improper-cache-version', 'improper-repo-cache', 'improper-git-commit'],
    extra: {force: true},
    deleted: ['app.from'],
    keep: {bare: 'unknown', 'bad.parent': 'unknown', 'bad.commit': 'unknown', 'bad.created': 'unknown', 'bad.stage': 'unknown'},
  },
  {
    name: "dev-cache stages and other projects' stages are never touched",
    stages: [
      stage('app.from', {cacheVersion: '0'}),
      stage('dev.from', {cacheVersion: '0', dev: true}),
      stage('dev.install', {parent: 'dev.from', commits: ['gone'], dev: true}),
      stage('theirs.from', {cacheVersion: '0', project: 'other'}),
    ],
    finals: [],
    policies: ['improper-cache-version', 'improper-git-commit', 'improper-repo-cache'],
    extra: {force: true},
    deleted: ['app.from'],
    keep: {'dev.from': 'dev-cache', 'dev.install': 'dev-cache', 'theirs.from': 'other-project'},
  },
]

describe('cleanupPlan', () => {
  it.each(CASES)('$name', (c) => {
    const result = plan(c.stages, c.finals, c.policies, c.extra)
    const got = readable(result)
    if (c.ordered) expect(got.delete).toEqual(c.deleted)
    else expect([...got.delete].sort()).toEqual([...c.deleted].sort())
    expectDependentsFirst(result, c.stages)
    if (c.reasons) expect(got.reasons).toEqual(c.reasons)
    expect(got.keep).toEqual(c.keep)
    // kept and deleted are disjoint, and every deleted stage says why
    const kept = new Set(result.keep.map((k) => k.signature))
    for (const d of result.delete) {
      expect(kept.has(d.signature)).toBe(false)
      expect(d.details).toHaveLength(d.reasons.length)
    }
  })

  it('explains each deletion and each kept stage in words', () => {
    const stages = [...referenceStages(), stage('app.docker3', {parent: 'app.install2', ageHours: 0.5})]
    const result = plan(stages, [final('r/app:a', 'app.docker'), final('r/app:b', 'app.docker')], ['improper-git-commit', 'improper-repo-cache'])
    const docker2 = result.delete.find((d) => d.signature === sig('app.docker2'))!
    expect(docker2).toMatchObject({dimg: 'app', stage: 'docker', reasons: ['improper-git-commit', 'improper-repo-cache']})
    expect(docker2.details).toEqual([
      `improper-git-commit: built on stage ${sig('app.install2').slice(0, 12)}, whose commit ${commit('gone').slice(0, 12)} is not in the git repository`,
      'improper-repo-cache: no final image in the repository uses it',
    ])
    const byName = new Map(result.keep.map((k) => [k.signature, k]))
    expect(byName.get(sig('app.docker3'))!.detail).toBe('built 30m ago; stages younger than 2h are kept')
    expect(byName.get(sig('app.install2'))).toEqual({
      signature: sig('app.install2'),
      reason: 'needed',
      detail: `kept stage ${sig('app.docker3').slice(0, 12)} depends on it`,
      selectedBy: ['improper-git-commit', 'improper-repo-cache'],
    })
    const inUse = plan(referenceStages(), [final('r/app:a', 'app.docker2'), final('r/app:b', 'app.docker2')], ['improper-git-commit'])
    expect(inUse.keep.find((k) => k.signature === sig('app.install2'))!.detail).toBe('used by final images r/app:a and 1 more; --force deletes it anyway')
    const direct = plan(referenceStages(), [], ['improper-git-commit'])
    expect(direct.delete.find((d) => d.signature === sig('app.install2'))!.details).toEqual([
      `improper-git-commit: commit ${commit('gone').slice(0, 12)} is not in the git repository`,
    ])
  })

  describe('refuses improper-repo-cache against a repository without final images', () => {
    it.each([
      ['no final image at all', []],
      ['final images without a stage label', [{ref: 'r:latest', stageSignature: null}, {ref: 'r:x', stageSignature: 'garbage'}]],
    ] as Array<[string, FinalImageRecord[]]>)('%s', (_, finals) => {
      let error: unknown
      try {
        plan(referenceStages(), finals, ['improper-repo-cache'], {repoName: 'localhost:5000/proj'})
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(SlipwayError)
      const e = error as SlipwayError
      expect(e.kind).toBe('usage')
      expect(e.message).toBe('no final image in localhost:5000/proj names a stage, so --improper-repo-cache would delete the whole stages cache (9 stages)')
      expect(e.hint).toContain('--force')
      expect(plan(referenceStages(), finals, ['improper-repo-cache'], {force: true}).delete).toHaveLength(9)
    })

    it('but has nothing to refuse when there is nothing to delete', () => {
      expect(plan([], [], ['improper-repo-cache'])).toEqual({delete: [], keep: []})
      const onlyYoungOrUnknown = [stage('app.from', {ageHours: 1}), {signature: sig('bare')}]
      expect(() => plan(onlyYoungOrUnknown, [], ['improper-repo-cache'])).toThrow(SlipwayError) // young ones would be selected
      expect(plan([{signature: sig('bare')}], [], ['improper-repo-cache']).delete).toEqual([])
    })
  })

  it('rejects bad options with typed errors', () => {
    const expectKind = (f: () => unknown, kind: string, message: RegExp) => {
      try {
        f()
      } catch (e) {
        expect(e).toBeInstanceOf(SlipwayError)
        expect((e as SlipwayError).kind).toBe(kind)
        expect((e as SlipwayError).message).toMatch(message)
        return
      }
      throw new Error('expected an error')
    }
    expectKind(() => plan(referenceStages(), [], []), 'usage', /no cleanup policy/)
    expectKind(() => plan(referenceStages(), [], ['improper-everything' as CleanupPolicy]), 'usage', /unknown cleanup policy "improper-everything"/)
    expectKind(() => plan(referenceStages(), [], ['improper-cache-version'], {keepYoungerThanMs: -1}), 'usage', /minimum age/)
    expectKind(() => plan(referenceStages(), [], ['improper-cache-version'], {keepYoungerThanMs: NaN}), 'usage', /minimum age/)
    expectKind(() => plan(referenceStages(), [], ['improper-git-commit'], {existingCommits: undefined}), 'internal', /existing commits/)
    expectKind(() => plan(referenceStages(), [], ['improper-cache-version'], {currentCacheVersion: undefined}), 'internal', /cache version/)
    expectKind(() => plan([stage('a.from'), stage('a.from')], [], ['improper-cache-version']), 'internal', /listed twice/)
  })

  it('defaults the grace period to 2h', () => {
    expect(DEFAULT_KEEP_YOUNGER_THAN_MS).toBe(2 * HOUR)
    const stages = [stage('a.from', {ageHours: 1.99, cacheVersion: '0'}), stage('b.from', {ageHours: 2.01, cacheVersion: '0'})]
    expect(readable(plan(stages, [], ['improper-cache-version'])).keep).toEqual({'a.from': 'too-young'})
  })

  it('deletes a long chain strictly dependents first', () => {
    const stages = [stage('c.from', {cacheVersion: '0'})]
    const names = ['beforeInstall', 'gitArchive', 'install', 'beforeSetup', 'setup', 'gitLatestPatch', 'docker']
    names.forEach((n, i) => stages.push(stage(`c.${n}`, {parent: i === 0 ? 'c.from' : `c.${names[i - 1]}`, cacheVersion: '0'})))
    expect(readable(plan(stages, [], ['improper-cache-version'])).delete).toEqual([...names].reverse().map((n) => `c.${n}`).concat('c.from'))
  })

  it('gives the same plan whatever the order of its inputs and policies', () => {
    const stages = [
      ...referenceStages(),
      stage('old.from', {cacheVersion: '0'}),
      stage('old.install', {parent: 'old.from', cacheVersion: '0'}),
      stage('b.from', {commits: ['gone']}),
      stage('b.setup', {parent: 'b.from', imports: ['assets.install', 'old.install']}),
      {signature: sig('bare')},
      stage('young.from', {ageHours: 1, cacheVersion: '0'}),
    ]
    const policies: CleanupPolicy[] = ['improper-git-commit', 'improper-repo-cache', 'improper-cache-version']
    const finals = [...APP_FINAL, final('r/app:2', 'app.install')]
    const reference = plan(stages, finals, policies)
    expect(reference.delete.length).toBeGreaterThan(3)
    expectDependentsFirst(reference, stages)
    expect(reference.keep.map((k) => k.signature)).toEqual(reference.keep.map((k) => k.signature).sort())
    let seed = 7
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    for (let round = 0; round < 20; round++) {
      const shuffled = [...stages].sort(() => random() - 0.5)
      const shuffledPolicies = [...policies, policies[0]].sort(() => random() - 0.5)
      const shuffledFinals = [...finals].sort(() => random() - 0.5)
      expect(plan(shuffled, shuffledFinals, shuffledPolicies)).toEqual(reference)
    }
  })

  it('has a JSON form with every field present', () => {
    const stages = [{...stage('app.from', {cacheVersion: '0', size: 1000}), tags: ['dimgstage-x']}, stage('app.install', {parent: 'app.from', cacheVersion: '0', size: 24})]
    const json = planToJson(plan([...stages, stage('young.from', {ageHours: 0, cacheVersion: '0'})], [], ['improper-cache-version']))
    expect(JSON.parse(JSON.stringify(json))).toEqual(json)
    expect(json).toEqual({
      delete: [
        {signature: sig('app.install'), dimg: 'app', stage: 'install', reasons: ['improper-cache-version'], details: ['improper-cache-version: cache version "0" is not the current "1"'], size: 24, tags: []},
        {signature: sig('app.from'), dimg: 'app', stage: 'from', reasons: ['improper-cache-version'], details: ['improper-cache-version: cache version "0" is not the current "1"'], size: 1000, tags: ['dimgstage-x']},
      ],
      keep: [{signature: sig('young.from'), reason: 'too-young', detail: 'built 0ms ago; stages younger than 2h are kept', selectedBy: ['improper-cache-version']}],
      summary: {delete: 2, keep: 1, deleteSize: 1024},
    })
  })
})

describe('duration', () => {
  it.each([
    [0, '0ms'],
    [999, '999ms'],
    [45_000, '45s'],
    [2 * HOUR, '2h'],
    [90 * 60_000, '1h30m'],
    [HOUR + 5000, '1h'],
    [26 * HOUR + 61_000, '1d2h'],
  ])('%d ms → %s', (ms, text) => {
    expect(duration(ms)).toBe(text)
  })
})
