import type {BlobTotals} from '../transfer/index.js'
import type {StagesListingJson} from '../project/index.js'
import type {SyncResult} from '../transfer/stage-sync.js'
import {formatBytes} from './progress.js'
import {stagesListingLines} from './stages-output.js'

/** The closing line of a run: what it cost in registry traffic, e.g. `uploaded 12.3 MiB, mounted 4 blobs, downloaded 0 B`. */
export function transferLine(t: BlobTotals): string {
  const copied = t.copied > 0 ? ` (${t.copied} ${t.copied === 1 ? 'blob' : 'blobs'} copied between repositories, streamed)` : ''
  return `uploaded ${formatBytes(t.bytesUploaded)}, mounted ${t.mounted} ${t.mounted === 1 ? 'blob' : 'blobs'}, downloaded ${formatBytes(t.bytesDownloaded)}${copied}`
}

/**
 * What a push or pull leaves for stdout, one `REFERENCE DIGEST` line each: the final images, or with
 * `stages` (stages push and pull) the stage images that are now in REPO or were pulled from it.
 */
export function syncResultLines(result: SyncResult, what: 'images' | 'stages'): string[] {
  if (what === 'images') return result.images.map(i => `${i.image} ${i.digest}`)
  return result.stages.filter(s => s.digest !== undefined).map(s => `${s.image} ${s.digest}`)
}

/** The log lines (stderr) a push or pull ends with; the last one totals the whole run's transfers (`run`). */
export function syncSummary(result: SyncResult, run: BlobTotals): string[] {
  const lines: string[] = []
  const count = (status: string) => result.stages.filter(s => s.status === status).length
  const parts = [
    ['pushed', count('pushed')],
    ['already in the registry', count('exists')],
    ['pulled', count('pulled')],
    ['already local', count('present')],
    ['not in the registry', count('absent')],
    ['not used (labels do not match the tag)', count('mismatch')],
    ['not on this host (skipped)', count('skipped')],
  ].filter(([, n]) => (n as number) > 0)
  if (result.stages.length > 0) lines.push(`stages: ${parts.map(([w, n]) => `${n} ${w}`).join(', ')}`)
  const b = result.blobs
  lines.push(`blobs: ${b.uploaded} uploaded, ${b.copied} copied, ${b.mounted} mounted, ${b.exists} already there, ${b.pulled} pulled, ${b.present} already local`)
  lines.push(transferLine(run))
  return lines
}

/** A result's human form: `notes` for the log (stderr), `lines` for stdout. */
export interface HumanOutput {
  notes: string[]
  lines: string[]
}

/** A push or pull: the summary for the log, the images (or stages) on stdout; `run` totals the whole run's transfers. */
export function syncOutput(result: SyncResult, run: BlobTotals, what: 'images' | 'stages'): HumanOutput {
  return {notes: syncSummary(result, run), lines: syncResultLines(result, what)}
}

/** `dimg stages push/pull`: the stages moved, or with --dry-run the listing of those that would be. */
export function stagesSyncOutput(result: SyncResult | StagesListingJson, run: BlobTotals): HumanOutput {
  return 'dimgs' in result ? {notes: [], lines: stagesListingLines(result)} : syncOutput(result, run, 'stages')
}
