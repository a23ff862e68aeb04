import {SlipwayError} from '../errors.js'
import type {StageSignature} from '../stage/signature.js'
import {bySignature, sizeAndTags, type DeletionPlan, type KeptStage, type PlannedDeletion} from './deletion-plan.js'
import {StageGraph} from './graph.js'
import {
  CLEANUP_POLICIES,
  selectGoneCommits,
  selectOtherCacheVersions,
  selectUnusedByFinals,
  short,
  type CleanupPolicy,
  type CommitExistence,
  type Selection,
} from './policies.js'
import {classifyStages, isSignature, type FinalImageRecord, type KnownStage, type StageInput} from './records.js'
import {finalImageUsers} from './usage.js'

export const DEFAULT_KEEP_YOUNGER_THAN_MS = 2 * 60 * 60 * 1000

export interface CleanupInput {
  /** The project's stages, locally or in REPO. */
  stages: readonly StageInput[]
  /** The final images in REPO; [] when no REPO was given. Needed by improper-repo-cache, and they protect
   *  the stages they use from the other policies unless `force`. */
  finalImages: readonly FinalImageRecord[]
  /** The project name: stages labelled with another project are never touched. */
  project: string
  policies: readonly CleanupPolicy[]
  now: Date
  /** Required with improper-cache-version. */
  currentCacheVersion?: string
  /** Required with improper-git-commit; ask git about `commitsToCheck(stages)`. */
  existingCommits?: CommitExistence
  /** Stages younger than this are kept whatever the policies say, and so is everything they are built on. */
  keepYoungerThanMs?: number
  /** Delete stages final images still use, and allow improper-repo-cache against a REPO without final images.
   *  The grace period still applies (set keepYoungerThanMs to 0 to drop it). */
  force?: boolean
  /** How messages name REPO, e.g. "localhost:5000/app". */
  repoName?: string
}

/**
 * The deletion plan of `dimg stages cleanup local|repo` for the given policies: the union of the stages
 * each selects, minus those kept for safety, in an order that deletes dependents first.
 *
 * Safety rules, in order:
 * 1. Only stages of `project`'s normal cache with intact labels are judged; the rest are listed as kept.
 * 2. A selected stage younger than keepYoungerThanMs (default 2h) is kept: a build may be using it.
 * 3. A selected stage a final image still uses (through the parent chain or imports) is kept unless `force`:
 *    REPO's final images are the source of truth, so even a stage of a vanished commit or an old cache
 *    version stays while a final image was built from it.
 * 4. Every stage a kept stage is built on or imports from is kept, so no kept stage loses its parent.
 * improper-repo-cache with no final image in REPO refuses (usage error) unless `force`, since it would
 * delete the whole stages cache.
 */
export function cleanupPlan(input: CleanupInput): DeletionPlan {
  const policies = checkedPolicies(input.policies)
  const keepYoungerThanMs = input.keepYoungerThanMs ?? DEFAULT_KEEP_YOUNGER_THAN_MS
  if (!Number.isFinite(keepYoungerThanMs) || keepYoungerThanMs < 0) {
    throw new SlipwayError('usage', `the minimum age of stages to delete must be a duration of 0 or more, not ${keepYoungerThanMs} ms`)
  }
  const nowMs = input.now.getTime()
  if (Number.isNaN(nowMs)) throw new SlipwayError('internal', 'cleanupPlan was given an invalid current time')

  const {known, setAside} = classifyStages(input.stages, input.project)
  const graph = new StageGraph(known)
  const users = finalImageUsers(graph, input.finalImages)
  const selections = new Map<CleanupPolicy, Selection>()
  for (const policy of policies) selections.set(policy, select(policy, input, known, graph, users))

  const selectedBy = new Map<StageSignature, CleanupPolicy[]>()
  for (const [policy, selection] of selections) {
    for (const sig of selection.keys()) selectedBy.set(sig, [...(selectedBy.get(sig) ?? []), policy])
  }

  const kept = new Map<StageSignature, KeptStage>()
  for (const [sig, by] of selectedBy) {
    const stage = known.get(sig)!
    const age = nowMs - stage.createdMs
    if (age < keepYoungerThanMs) {
      kept.set(sig, {signature: sig, reason: 'too-young', detail: `built ${ageText(age)}; stages younger than ${duration(keepYoungerThanMs)} are kept`, selectedBy: by})
    } else if (!input.force && users.has(sig)) {
      kept.set(sig, {signature: sig, reason: 'in-use', detail: `used by ${usersText(users.get(sig)!)}; --force deletes it anyway`, selectedBy: by})
    }
  }
  const keptRoots = [...known.keys()].filter((sig) => !selectedBy.has(sig) || kept.has(sig))
  for (const [sig, root] of graph.walk(keptRoots, 'dependencies')) {
    const by = selectedBy.get(sig)
    if (by === undefined || kept.has(sig)) continue
    kept.set(sig, {signature: sig, reason: 'needed', detail: `kept stage ${short(root)} depends on it`, selectedBy: by})
  }
  for (const s of setAside) kept.set(s.signature, {signature: s.signature, reason: s.why, detail: s.detail, selectedBy: []})

  const toDelete = new Set([...selectedBy.keys()].filter((sig) => !kept.has(sig)))
  const deletions = graph.dependentsFirst(toDelete).map((sig): PlannedDeletion => {
    const stage = known.get(sig)!
    const reasons = [...selectedBy.get(sig)!].sort()
    return {
      signature: sig,
      after: graph.dependentsWithin(sig, toDelete),
      dimg: stage.dimg,
      stage: stage.stage,
      reasons,
      details: reasons.map((r) => `${r}: ${selections.get(r)!.get(sig)}`),
      ...sizeAndTags(stage),
    }
  })
  return {delete: deletions, keep: [...kept.values()].sort(bySignature)}
}

function select(
  policy: CleanupPolicy,
  input: CleanupInput,
  known: ReadonlyMap<StageSignature, KnownStage>,
  graph: StageGraph,
  users: ReadonlyMap<StageSignature, string[]>,
): Selection {
  switch (policy) {
    case 'improper-repo-cache': {
      const selection = selectUnusedByFinals(known.values(), users)
      const namesAStage = input.finalImages.some((f) => isSignature(f.stageSignature))
      if (!namesAStage && selection.size > 0 && !input.force) {
        const repo = input.repoName ?? 'the repository'
        throw new SlipwayError('usage', `no final image in ${repo} names a stage, so --improper-repo-cache would delete the whole stages cache (${selection.size} stages)`, {
          hint: `check that ${repo} is the repository the final images were pushed to, or use --force to delete them anyway`,
        })
      }
      return selection
    }
    case 'improper-git-commit':
      if (input.existingCommits === undefined) throw new SlipwayError('internal', 'improper-git-commit needs the existing commits')
      return selectGoneCommits(graph, known.values(), input.existingCommits)
    case 'improper-cache-version':
      if (input.currentCacheVersion === undefined) throw new SlipwayError('internal', 'improper-cache-version needs the current cache version')
      return selectOtherCacheVersions(known.values(), input.currentCacheVersion)
  }
}

function checkedPolicies(policies: readonly string[]): CleanupPolicy[] {
  const flags = CLEANUP_POLICIES.map((p) => `--${p}`).join(', ')
  if (policies.length === 0) throw new SlipwayError('usage', 'no cleanup policy given', {hint: `pass one or more of ${flags}`})
  for (const p of policies) {
    if (!(CLEANUP_POLICIES as readonly string[]).includes(p)) throw new SlipwayError('usage', `unknown cleanup policy "${p}"`, {hint: `use ${flags}`})
  }
  return [...new Set(policies as CleanupPolicy[])].sort()
}

function usersText(refs: string[]): string {
  return refs.length === 1 ? `final image ${refs[0]}` : `final images ${refs[0]} and ${refs.length - 1} more`
}

function ageText(ageMs: number): string {
  return ageMs < 0 ? `${duration(-ageMs)} in the future (clock skew?)` : `${duration(ageMs)} ago`
}

/** A duration as its two largest units: "2h", "1h30m", "45s", "0s". */
export function duration(ms: number): string {
  const units: Array<[string, number]> = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]]
  const parts: string[] = []
  let rest = Math.floor(ms)
  for (const [name, size] of units) {
    const n = Math.floor(rest / size)
    rest -= n * size
    if (n > 0 || parts.length > 0) parts.push(`${n}${name}`)
  }
  const shown = parts.slice(0, 2).filter((p, i) => i === 0 || !p.startsWith('0'))
  return shown.length > 0 ? shown.join('') : `${Math.floor(ms)}ms`
}
