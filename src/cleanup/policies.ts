import type {StageSignature} from '../stage/signature.js'
import type {StageGraph} from './graph.js'
import type {KnownStage} from './records.js'

/** The policies of `dimg stages cleanup local|repo`, named as their flags. */
export const CLEANUP_POLICIES = ['improper-repo-cache', 'improper-git-commit', 'improper-cache-version'] as const
export type CleanupPolicy = (typeof CLEANUP_POLICIES)[number]

/** Which stages a policy selects, each with one line saying why. */
export type Selection = Map<StageSignature, string>

/** Whether a git commit exists in the project's repository: a set of the commits that do, or a predicate. */
export type CommitExistence = ReadonlySet<string> | ((commit: string) => boolean)

export function short(id: string): string {
  return id.slice(0, 12)
}

/** improper-repo-cache: stages no final image uses (`usedByFinals` holds the ones some final image uses). */
export function selectUnusedByFinals(stages: Iterable<KnownStage>, usedByFinals: ReadonlyMap<StageSignature, unknown>): Selection {
  const selection: Selection = new Map()
  for (const s of stages) {
    if (!usedByFinals.has(s.signature)) selection.set(s.signature, 'no final image in the repository uses it')
  }
  return selection
}

/**
 * improper-git-commit: stages built from a commit the repository no longer has, and every stage built on
 * them or importing from them, transitively (their files came from the same vanished commit).
 */
export function selectGoneCommits(graph: StageGraph, stages: Iterable<KnownStage>, commitExists: CommitExistence): Selection {
  const exists = typeof commitExists === 'function' ? commitExists : (c: string) => commitExists.has(c)
  const goneCommitOf = new Map<StageSignature, string>()
  for (const s of stages) {
    const gone = s.commits.find((c) => !exists(c))
    if (gone !== undefined) goneCommitOf.set(s.signature, gone)
  }
  const selection: Selection = new Map()
  for (const [sig, root] of graph.walk(goneCommitOf.keys(), 'dependents')) {
    const commit = short(goneCommitOf.get(root)!)
    selection.set(
      sig,
      sig === root
        ? `commit ${commit} is not in the git repository`
        : `built on stage ${short(root)}, whose commit ${commit} is not in the git repository`,
    )
  }
  return selection
}

/**
 * improper-cache-version: stages made by another cache version. Their dependents are not selected for it:
 * signatures cover the cache version, so a stage built on an old one has the old version itself.
 */
export function selectOtherCacheVersions(stages: Iterable<KnownStage>, currentCacheVersion: string): Selection {
  const selection: Selection = new Map()
  for (const s of stages) {
    if (s.cacheVersion !== currentCacheVersion) {
      selection.set(s.signature, `cache version "${s.cacheVersion}" is not the current "${currentCacheVersion}"`)
    }
  }
  return selection
}
