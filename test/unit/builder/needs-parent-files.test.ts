import {builderFor, needsParentFiles, recordedOwnerIds} from '../../../src/builder/index.js'
import type {GitMapping} from '../../../src/config/types.js'
import type {StageInputs} from '../../../src/stage/stage-plan.js'

const mapping = (owner?: string, group?: string): GitMapping =>
  ({add: '/', to: '/app', includePaths: [], excludePaths: [], stageDependencies: {}, ...(owner === undefined ? {} : {owner}), ...(group === undefined ? {} : {group})}) as GitMapping
const revision = {commit: 'c', contentRef: 'c'}

describe('which builders read their parent\'s files', () => {
  it('from, docker and the git stages never do; shell and imports always do', () => {
    const cases: [StageInputs, boolean][] = [
      [{kind: 'from', image: 'x', fromLatest: false}, false],
      [{kind: 'docker', instructions: {}} as StageInputs, false],
      [{kind: 'gitLatestPatch', mappings: [mapping('app', 'app')], fromCommit: 'a', revision, changedFiles: 1}, false],
      [{kind: 'shell', stage: 'install', commands: ['true'], mounts: [], dependencies: []} as StageInputs, true],
      [{kind: 'imports', position: 'beforeInstall', imports: []} as unknown as StageInputs, true],
    ]
    expect(cases.map(([inputs]) => [inputs.kind, needsParentFiles(inputs)])).toEqual(cases.map(([inputs, needs]) => [inputs.kind, needs]))
  })

  it('gitArchive does not, even for owner/group names (they are read from the layer holding /etc/passwd)', () => {
    const archive = (...mappings: GitMapping[]): StageInputs => ({kind: 'gitArchive', mappings, revision})
    expect({
      none: needsParentFiles(archive(mapping())),
      ids: needsParentFiles(archive(mapping('1000', '1000'))),
      groupId: needsParentFiles(archive(mapping(undefined, '50'))),
      uidOnly: needsParentFiles(archive(mapping('1000'))), // its primary group is in /etc/passwd
      names: needsParentFiles(archive(mapping('app', 'app'))),
      oneOfTwo: needsParentFiles(archive(mapping(), mapping(undefined, 'staff'))),
    }).toEqual({none: false, ids: false, groupId: false, uidOnly: false, names: false, oneOfTwo: false})
  })

  it('every stage kind has its own builder', () => {
    const kinds = ['from', 'docker', 'gitArchive', 'gitLatestPatch', 'shell', 'imports'] as const
    expect(kinds.map(k => builderFor(k).kind)).toEqual([...kinds])
    expect(new Set(kinds.map(k => builderFor(k))).size).toBe(kinds.length)
  })

  it('reads owner ids recorded in a stage label, ignoring malformed entries', () => {
    const image = (raw: string) => ({config: {rootfs: {type: 'layers', diff_ids: []}, config: {Labels: {'dev.slipway.owner-ids': raw}}}}) as never
    expect(recordedOwnerIds(image(JSON.stringify({'app:app': [1000, 1001], bad: [-1, 2], worse: 'x'})))).toEqual({'app:app': [1000, 1001]})
    expect(recordedOwnerIds(image('not json'))).toEqual({})
  })
})
