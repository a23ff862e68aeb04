import type {CleanupResult, StageRow} from '../cache/index.js'
import {planToJson} from '../cleanup/index.js'
import {stageTag} from '../naming/index.js'
import {listedName, type ProjectPlan} from '../project/index.js'
import type {StageSignature} from '../stage/signature.js'
import {formatBytes} from './progress.js'
import {renderTableWithList} from './table.js'

/** The stages table fitted to `width` (see tableWidth): a long USED BY list ends with `+N more`. */
export function stagesTable(rows: StageRow[], width = Number.POSITIVE_INFINITY): string {
  if (rows.length === 0) return 'no stages'
  return renderTableWithList(
    ['SIGNATURE', 'DIMG', 'STAGE', 'SIZE', 'CREATED', 'USED BY'],
    rows.map(r => ({cells: [r.signature.slice(0, 12), r.dimg ?? '-', r.stage ?? '?', formatBytes(r.size), r.created?.replace(/\.\d+Z$/, 'Z') ?? '-'], list: r.usedBy})),
    width,
  )
}

/** The --json form of a cleanup or flush: the plan (what goes, what stays and why) and what was deleted. */
export function cleanupJson(result: CleanupResult): unknown {
  return {dryRun: result.dryRun, ...planToJson(result.plan), deleted: result.deleted}
}

export function cleanupLines(result: CleanupResult): string[] {
  const lines: string[] = []
  const verb = result.dryRun ? 'would delete' : 'deleted'
  for (const d of result.plan.delete) lines.push(`${verb} ${d.signature.slice(0, 12)} ${d.dimg ?? '-'}/${d.stage ?? '?'}: ${d.details.join('; ')}`)
  for (const k of result.plan.keep.filter(k => k.selectedBy.length > 0)) lines.push(`kept ${k.signature.slice(0, 12)}: ${k.detail}`)
  const n = result.plan.delete.length
  const k = result.plan.keep.length
  lines.push(result.dryRun ? `would delete ${n} stages and keep ${k}` : `deleted ${n} stages, kept ${k}`)
  return lines
}

/** `REPO:dimgstage-<signature>`. */
function stageImageName(repo: string, signature: StageSignature): string {
  return `${repo}:${stageTag(signature)}`
}

/**
 * The seeds' dry-run listing of `dimg stages push/pull`: for each dimg (artifacts included, in build
 * order) its name on a line, then one two-space-indented `REPO:dimgstage-<signature>` per stage, first
 * stage first. The unnamed dimg is listed under the project's name.
 */
export function formatStagesListing(plan: ProjectPlan, repo: string): string {
  const lines: string[] = []
  for (const dimg of plan.dimgs) {
    lines.push(listedName(plan, dimg))
    for (const stage of dimg.stages) lines.push(`  ${stageImageName(repo, stage.signature)}`)
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`
}

export interface StagesListingJson {
  project: string
  repo: string
  cacheVersion: string
  dev: boolean
  dimgs: {
    name: string | null
    listedAs: string
    isArtifact: boolean
    stages: {name: string; signature: string; parentSignature: string | null; image: string; gitCommit?: string}[]
  }[]
}

/** The same listing as data, for `--json`. */
export function stagesListingJson(plan: ProjectPlan, repo: string): StagesListingJson {
  return {
    project: plan.project.name,
    repo,
    cacheVersion: plan.cacheVersion,
    dev: plan.project.dev,
    dimgs: plan.dimgs.map((d) => ({
      name: d.name,
      listedAs: listedName(plan, d),
      isArtifact: d.isArtifact,
      stages: d.stages.map((s) => ({
        name: s.name,
        signature: s.signature,
        parentSignature: s.parentSignature,
        image: stageImageName(repo, s.signature),
        ...(s.gitCommit === undefined ? {} : {gitCommit: s.gitCommit}),
      })),
    })),
  }
}
