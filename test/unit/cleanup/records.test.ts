import {commitsToCheck} from '../../../src/cleanup/commits.js'
import {classifyStages, timeOf, type StageInput} from '../../../src/cleanup/records.js'
import {commit, PROJECT, sig, stage} from './support.js'

describe('classifyStages', () => {
  const good = stage('app.install', {parent: 'app.from', commits: ['c1', 'c1', 'c0'], imports: ['b', 'a'], size: 5})

  it('takes a well-formed record as known, normalising lists and time', () => {
    const {known, setAside} = classifyStages([{...good, tags: ['z', 'a'], created: new Date('2024-01-01T00:00:00Z')}], PROJECT)
    expect(setAside).toEqual([])
    expect(known.get(sig('app.install'))).toEqual({
      signature: sig('app.install'),
      parentSignature: sig('app.from'),
      dimg: 'app',
      stage: 'install',
      project: PROJECT,
      cacheVersion: '1',
      commits: [commit('c0'), commit('c1')].sort(),
      importSources: [sig('a'), sig('b')].sort(),
      createdMs: Date.parse('2024-01-01T00:00:00Z'),
      size: 5,
      tags: ['a', 'z'],
    })
  })

  it('accepts the unnamed dimg, a root stage and a sha256 commit', () => {
    const {known} = classifyStages([{...good, dimg: null, parentSignature: null, commits: ['ab'.repeat(32)]}], PROJECT)
    expect(known.size).toBe(1)
  })

  it.each<[string, Partial<Record<keyof StageInput, unknown>>, string]>([
    ['no labels at all', {parentSignature: undefined, dimg: undefined, stage: undefined, project: undefined, cacheVersion: undefined, commits: undefined, importSources: undefined, created: undefined}, 'project: missing'],
    ['empty project', {project: ''}, 'project: missing'],
    ['signature that is not one', {signature: 'dimgstage-x'}, 'label signature: not 64 hex digits'],
    ['parent missing', {parentSignature: undefined}, 'label parentSignature: missing or not a signature'],
    ['parent upper-case', {parentSignature: sig('x').toUpperCase()}, 'label parentSignature: missing or not a signature'],
    ['dimg empty', {dimg: ''}, 'label dimg: missing'],
    ['stage name unknown', {stage: 'compile'}, 'label stage: missing or not a stage name'],
    ['cache version missing', {cacheVersion: undefined}, 'label cacheVersion: missing'],
    ['commits not a list', {commits: commit('c1')}, 'label commits: missing or not commit ids'],
    ['short commit', {commits: ['abc1234']}, 'label commits: missing or not commit ids'],
    ['import source malformed', {importSources: ['assets']}, 'label importSources: missing or not signatures'],
    ['created unparseable', {created: 'last tuesday'}, 'label created: missing or not a date'],
    ['created a number', {created: 1700000000}, 'label created: missing or not a date'],
    ['created an invalid Date', {created: new Date('nope')}, 'label created: missing or not a date'],
  ])('sets aside a stage with %s as unknown', (_, change, detail) => {
    const input = {...good, ...change} as StageInput
    const {known, setAside} = classifyStages([input], PROJECT)
    expect(known.size).toBe(0)
    expect(setAside).toEqual([{signature: input.signature, why: 'unknown', detail, size: 5}])
  })

  it.each<[string, Partial<Record<keyof StageInput, unknown>>, string, string]>([
    ['another project', {project: 'other'}, 'other-project', 'belongs to project "other"'],
    ['another project, even with broken labels', {project: 'other', stage: 'junk'}, 'other-project', 'belongs to project "other"'],
    ['the dev cache', {dev: true}, 'dev-cache', 'stage of the dev cache'],
    ['a dev label that is not a boolean', {dev: 'yes'}, 'dev-cache', 'stage of the dev cache'],
  ])('sets aside a stage of %s', (_, change, why, detail) => {
    const {known, setAside} = classifyStages([{...good, ...change} as StageInput], PROJECT)
    expect(known.size).toBe(0)
    expect(setAside).toMatchObject([{why, detail}])
  })

  it('judges a stage whose dev label is false like any other', () => {
    expect(classifyStages([{...good, dev: false}], PROJECT).known.size).toBe(1)
  })

  it('drops sizes and tags it cannot use', () => {
    const {known} = classifyStages([{...good, size: -1, tags: [1]}], PROJECT)
    const s = known.get(good.signature)!
    expect('size' in s || 'tags' in s).toBe(false)
  })
})

describe('timeOf', () => {
  it.each<[unknown, number | undefined]>([
    ['2024-01-10T12:00:00Z', Date.parse('2024-01-10T12:00:00Z')],
    ['2024-01-10T12:00:00.123456789+02:00', Date.parse('2024-01-10T10:00:00.123Z')],
    ['2024-01-10', Date.parse('2024-01-10T00:00:00Z')],
    [new Date(5), 5],
    ['Jan 10 2024', undefined],
    ['', undefined],
    [null, undefined],
  ])('%j → %j', (value, ms) => {
    expect(timeOf(value)).toBe(ms)
  })
})

describe('commitsToCheck', () => {
  it('lists every well-formed commit once, sorted', () => {
    const stages: StageInput[] = [
      stage('a.from', {commits: ['c2', 'c1']}),
      stage('a.install', {commits: ['c1']}),
      {signature: sig('bare'), commits: ['zz', commit('c3'), 42]},
      {signature: sig('bare2'), commits: 'not a list'},
    ]
    expect(commitsToCheck(stages)).toEqual([commit('c1'), commit('c2'), commit('c3')].sort())
    expect(commitsToCheck([])).toEqual([])
  })
})
