import {createHash} from 'node:crypto'

import type {DeletionPlan} from '../../../src/cleanup/deletion-plan.js'
import type {FinalImageRecord, StageInput, StageRecord} from '../../../src/cleanup/records.js'

/** Readable names for signatures and commits, so tables read as stage names. */
const names = new Map<string, string>()

export function sig(name: string): string {
  const s = createHash('sha256').update(`stage:${name}`).digest('hex')
  names.set(s, name)
  return s
}

export function commit(name: string): string {
  const c = createHash('sha1').update(`commit:${name}`).digest('hex')
  names.set(c, `commit:${name}`)
  return c
}

export function nameOf(id: string): string {
  return names.get(id) ?? id
}

export const PROJECT = 'proj'
export const NOW = new Date('2024-01-10T12:00:00Z')
export const HOUR = 3_600_000

export interface StageSpec {
  parent?: string | null
  dimg?: string | null
  stage?: string
  commits?: string[]
  imports?: string[]
  /** Age in hours at NOW (default 100). */
  ageHours?: number
  cacheVersion?: string
  project?: string
  dev?: boolean
  size?: number
}

/** A well-formed stage record named `name` (its signature is sig(name)). */
export function stage(name: string, spec: StageSpec = {}): StageRecord {
  return {
    signature: sig(name),
    parentSignature: spec.parent ? sig(spec.parent) : null,
    dimg: spec.dimg === undefined ? name.split('.')[0] : spec.dimg,
    stage: spec.stage ?? name.split('.')[1]?.replace(/\d+$/, '') ?? 'from',
    project: spec.project ?? PROJECT,
    cacheVersion: spec.cacheVersion ?? '1',
    commits: (spec.commits ?? []).map(commit),
    importSources: (spec.imports ?? []).map(sig),
    created: new Date(NOW.getTime() - (spec.ageHours ?? 100) * HOUR).toISOString(),
    ...(spec.dev !== undefined ? {dev: spec.dev} : {}),
    ...(spec.size !== undefined ? {size: spec.size} : {}),
  }
}

export function final(ref: string, stageName: string | null): FinalImageRecord {
  return {ref, stageSignature: stageName === null ? null : sig(stageName)}
}

/**
 * The reference cache: an artifact `assets` imported by dimg `app`, whose current chain is used by the final
 * image, plus an older install built from a commit a rebase removed.
 *
 *   assets.from ← assets.install(c1)
 *   app.from ← app.gitArchive(c1) ← app.install(c1) ← app.importsAfterSetup(imports assets.install) ← app.docker
 *                               ↖ app.install2(gone) ← app.docker2
 */
export function referenceStages(): StageInput[] {
  return [
    stage('assets.from'),
    stage('assets.install', {parent: 'assets.from', commits: ['c1']}),
    stage('app.from'),
    stage('app.gitArchive', {parent: 'app.from', commits: ['c1']}),
    stage('app.install', {parent: 'app.gitArchive', commits: ['c1']}),
    stage('app.importsAfterSetup', {parent: 'app.install', imports: ['assets.install']}),
    stage('app.docker', {parent: 'app.importsAfterSetup'}),
    stage('app.install2', {parent: 'app.gitArchive', commits: ['gone']}),
    stage('app.docker2', {parent: 'app.install2'}),
  ]
}

export const EXISTING = new Set(['c1', 'c2'].map(commit))

/** A plan with names instead of signatures: deletions in order with their reasons, kept stages with theirs. */
export function readable(plan: DeletionPlan): {delete: string[]; reasons: Record<string, string[]>; keep: Record<string, string>} {
  return {
    delete: plan.delete.map((d) => nameOf(d.signature)),
    reasons: Object.fromEntries(plan.delete.map((d) => [nameOf(d.signature), d.reasons])),
    keep: Object.fromEntries(plan.keep.map((k) => [nameOf(k.signature), k.reason])),
  }
}

/** Checks the deletion order: no stage is deleted before a stage built on it or importing from it. */
export function expectDependentsFirst(plan: DeletionPlan, stages: readonly StageInput[]): void {
  const position = new Map(plan.delete.map((d, i) => [d.signature, i]))
  for (const s of stages) {
    const here = position.get(s.signature)
    if (here === undefined) continue
    const uses = [s.parentSignature, ...(Array.isArray(s.importSources) ? s.importSources : [])]
    for (const dep of uses) {
      const there = typeof dep === 'string' ? position.get(dep) : undefined
      if (there !== undefined && there < here) {
        throw new Error(`${nameOf(dep as string)} is deleted before ${nameOf(s.signature)}, which depends on it`)
      }
    }
  }
}
