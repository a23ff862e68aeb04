import type {CleanupResult, StageRow} from '../cache/index.js'
import {type DeletionPlanJson, planToJson} from '../cleanup/index.js'
import type {StagesListingJson} from '../project/index.js'
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
export type CleanupJson = {dryRun: boolean} & DeletionPlanJson & {deleted: CleanupResult['deleted']}

export function cleanupJson(result: CleanupResult): CleanupJson {
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

/**
 * The seeds' dry-run listing of `dimg stages push/pull` as text: each dimg's name (as it is listed) on a line, then one two-space-indented `REPO:dimgstage-<signature>` per stage.
 */
export function stagesListingLines(listing: StagesListingJson): string[] {
  return listing.dimgs.flatMap(d => [d.listedAs, ...d.stages.map(s => `  ${s.image}`)])
}
