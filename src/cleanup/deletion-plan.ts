import type {CleanupPolicy} from './policies.js'

export type DeletionReason = CleanupPolicy | 'flush'

/**
 * A stage to delete. The plan lists them in an order that deletes dependents first, and each carries its
 * edges: a deleter may run deletions at once as long as each waits for its `after`.
 */
export interface PlannedDeletion {
  signature: string
  /** The stages of the plan built on this one or importing from it: deleted before it (sorted). */
  after: string[]
  /** null for the unnamed dimg, and for a stage whose labels are unknown (flush only). */
  dimg: string | null
  /** null for a stage whose labels are unknown (flush only). */
  stage: string | null
  /** The policies that selected it, sorted. */
  reasons: DeletionReason[]
  /** One "<reason>: <why>" line per reason, in the order of `reasons`. */
  details: string[]
  size?: number
  tags?: string[]
}

/**
 * Why a stage is kept:
 * - `too-young`: a policy selected it but it is younger than keepYoungerThan;
 * - `in-use`: a policy selected it but a final image still uses it (without force);
 * - `needed`: a policy selected it but a kept stage is built on it or imports from it;
 * - `unknown`: its labels are missing or malformed, so no policy judges it (only flush deletes it);
 * - `other-project`, `dev-cache`: not part of this project's normal stages cache.
 */
export type KeepReason = 'too-young' | 'in-use' | 'needed' | 'unknown' | 'other-project' | 'dev-cache'

/** A stage some policy selected (or could not judge) that stays. Stages no policy selected are not listed. */
export interface KeptStage {
  signature: string
  reason: KeepReason
  detail: string
  /** The policies that selected it, sorted; [] for stages no policy judged. */
  selectedBy: DeletionReason[]
}

export interface DeletionPlan {
  delete: PlannedDeletion[]
  /** Sorted by signature. */
  keep: KeptStage[]
}

/** The `--dry-run --json` form of a plan: every field present (null/[] when unknown), plus totals. */
export interface DeletionPlanJson {
  delete: Array<{signature: string; dimg: string | null; stage: string | null; reasons: DeletionReason[]; details: string[]; size: number | null; tags: string[]}>
  keep: Array<{signature: string; reason: KeepReason; detail: string; selectedBy: DeletionReason[]}>
  summary: {delete: number; keep: number; deleteSize: number}
}

export function planToJson(plan: DeletionPlan): DeletionPlanJson {
  return {
    delete: plan.delete.map((d) => ({
      signature: d.signature,
      dimg: d.dimg,
      stage: d.stage,
      reasons: [...d.reasons],
      details: [...d.details],
      size: d.size ?? null,
      tags: [...(d.tags ?? [])],
    })),
    keep: plan.keep.map((k) => ({signature: k.signature, reason: k.reason, detail: k.detail, selectedBy: [...k.selectedBy]})),
    summary: {
      delete: plan.delete.length,
      keep: plan.keep.length,
      // stages share layers, so this is an upper bound of the space a deletion frees
      deleteSize: plan.delete.reduce((sum, d) => sum + (d.size ?? 0), 0),
    },
  }
}

export function sizeAndTags(s: {size?: number; tags?: string[]}): {size?: number; tags?: string[]} {
  return {...(s.size !== undefined ? {size: s.size} : {}), ...(s.tags !== undefined ? {tags: s.tags} : {})}
}

export function bySignature(a: {signature: string}, b: {signature: string}): number {
  return a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0
}
