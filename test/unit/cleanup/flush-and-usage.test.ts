import {flushPlan} from '../../../src/cleanup/flush-plan.js'
import {StageGraph} from '../../../src/cleanup/graph.js'
import type {StageInput} from '../../../src/cleanup/records.js'
import {usageIndex} from '../../../src/cleanup/usage.js'
import {expectDependentsFirst, final, nameOf, PROJECT, readable, referenceStages, sig, stage} from './support.js'

describe('flushPlan', () => {
  const extras: StageInput[] = [
    {signature: sig('bare')},
    {...stage('broken.install', {parent: 'app.from'}), stage: 'compile'},
    stage('dev.from', {dev: true}),
    stage('dev.install', {parent: 'dev.from', dev: true}),
    stage('theirs.from', {project: 'other'}),
  ]

  it('deletes every stage of the project, unknown ones too, dependents first, with no age grace', () => {
    const stages = [...referenceStages(), stage('young.from', {ageHours: 0}), ...extras]
    const plan = flushPlan(stages, {project: PROJECT})
    const got = readable(plan)
    expect([...got.delete].sort()).toEqual(
      [...referenceStages().map((s) => nameOf(s.signature)), 'young.from', 'bare', 'broken.install'].sort(),
    )
    expect(got.keep).toEqual({'dev.from': 'dev-cache', 'dev.install': 'dev-cache', 'theirs.from': 'other-project'})
    expectDependentsFirst(plan, stages)
    // a stage with broken labels still comes before the parent its labels name
    expect(got.delete.indexOf('broken.install')).toBeLessThan(got.delete.indexOf('app.from'))
    expect(new Set(Object.values(got.reasons).flat())).toEqual(new Set(['flush']))
    const bare = plan.delete.find((d) => d.signature === sig('bare'))!
    expect(bare).toMatchObject({dimg: null, stage: null, details: ['flush: unknown stage (project: missing) of the project']})
    expect(plan.delete.find((d) => d.signature === sig('broken.install'))).toMatchObject({dimg: 'broken', stage: 'compile'})
  })

  it('deletes the dev cache too when asked, children first', () => {
    const plan = flushPlan([...extras], {project: PROJECT, includeDev: true})
    expect(readable(plan).delete.filter((n) => n.startsWith('dev.'))).toEqual(['dev.install', 'dev.from'])
    // each deletion carries its edges: what a deleter running them at once must delete first
    const after = Object.fromEntries(plan.delete.map((d) => [nameOf(d.signature), d.after.map(nameOf)]))
    expect(after).toMatchObject({'dev.from': ['dev.install'], 'dev.install': [], 'broken.install': []})
    expect(readable(plan).keep).toEqual({'theirs.from': 'other-project'})
  })

  it('is independent of input order', () => {
    const stages = [...referenceStages(), ...extras]
    const reference = flushPlan(stages, {project: PROJECT})
    expect(flushPlan([...stages].reverse(), {project: PROJECT})).toEqual(reference)
    expect(flushPlan([], {project: PROJECT})).toEqual({delete: [], keep: []})
  })
})

describe('usageIndex', () => {
  it.each<[string, Array<ReturnType<typeof final>>, Record<string, string[]>]>([
    [
      'one final image uses its whole chain and the artifact chain it imports',
      [final('r/app:latest', 'app.docker')],
      {'app.docker': ['r/app:latest'], 'app.importsAfterSetup': ['r/app:latest'], 'app.install': ['r/app:latest'], 'app.gitArchive': ['r/app:latest'], 'app.from': ['r/app:latest'], 'assets.install': ['r/app:latest'], 'assets.from': ['r/app:latest']},
    ],
    [
      'two final images share the common ancestors, refs sorted and unique',
      [final('r/app:v2', 'app.docker'), final('r/app:v1', 'app.docker2'), final('r/app:v1', 'app.docker2'), final('r/app:b', 'app.install2')],
      {
        'app.docker': ['r/app:v2'],
        'app.importsAfterSetup': ['r/app:v2'],
        'app.install': ['r/app:v2'],
        'assets.install': ['r/app:v2'],
        'assets.from': ['r/app:v2'],
        'app.docker2': ['r/app:v1'],
        'app.install2': ['r/app:b', 'r/app:v1'],
        'app.gitArchive': ['r/app:b', 'r/app:v1', 'r/app:v2'],
        'app.from': ['r/app:b', 'r/app:v1', 'r/app:v2'],
      },
    ],
    ['final images without a stage, or with a stage not listed, use nothing', [final('r:x', null), final('r:y', 'gone.docker'), {ref: 'r:z', stageSignature: 'garbage'}], {}],
  ])('%s', (_, finals, expected) => {
    const index = usageIndex(referenceStages(), finals)
    const all = referenceStages().map((s) => s.signature).sort()
    expect([...index.keys()]).toEqual(all)
    const used = Object.fromEntries([...index].filter(([, refs]) => refs.length > 0).map(([s, refs]) => [nameOf(s), refs]))
    expect(used).toEqual(expected)
  })

  it('follows whatever links the labels give, and counts a direct use of an unlabelled stage', () => {
    const stages: StageInput[] = [{signature: sig('bare')}, {...stage('x.install', {parent: 'x.from'}), created: 'junk'}, stage('x.from', {project: 'other'})]
    const index = usageIndex(stages, [final('r:1', 'bare'), final('r:2', 'x.install')])
    expect(Object.fromEntries([...index].map(([s, refs]) => [nameOf(s), refs]))).toEqual({bare: ['r:1'], 'x.install': ['r:2'], 'x.from': ['r:2']})
  })
})

describe('StageGraph', () => {
  const links = (parent: string | null, imports: string[] = []) => ({parentSignature: parent, importSources: imports})

  it('ignores links to stages it does not hold, and self links', () => {
    const g = new StageGraph(new Map([['a', links(null)], ['b', links('a', ['zz', 'b'])]]))
    expect(g.dependencies('b')).toEqual(['a'])
    expect(g.dependents('a')).toEqual(['b'])
    expect(g.dependencies('nope')).toEqual([])
  })

  it('orders a diamond dependents first and still ends when labels form a cycle', () => {
    const diamond = new StageGraph(new Map([['a', links(null)], ['b', links('a')], ['c', links('a')], ['d', links('b', ['c'])]]))
    expect(diamond.dependentsFirst(new Set(['a', 'b', 'c', 'd']))).toEqual(['d', 'b', 'c', 'a'])
    expect(diamond.dependentsFirst(new Set(['a', 'c']))).toEqual(['c', 'a'])
    const cycle = new StageGraph(new Map([['a', links('c')], ['b', links('a')], ['c', links('b')], ['x', links('a')]]))
    expect(cycle.dependentsFirst(new Set(['a', 'b', 'c', 'x']))).toEqual(['x', 'a', 'b', 'c'])
  })

  it('walks to every reachable stage, remembering where from', () => {
    const g = new StageGraph(new Map([['a', links(null)], ['b', links('a')], ['c', links('b')], ['d', links(null, ['b'])]]))
    expect(Object.fromEntries(g.walk(['c', 'd'], 'dependencies'))).toEqual({c: 'c', d: 'd', b: 'c', a: 'c'})
    expect(Object.fromEntries(g.walk(['a'], 'dependents'))).toEqual({a: 'a', b: 'a', c: 'a', d: 'a'})
  })
})
