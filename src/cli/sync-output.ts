import type {SyncResult} from '../workflows/registry-sync.js'
import {formatBytes} from './progress.js'

/** Human summary lines of a push or pull. */
export function syncSummary(result: SyncResult): string[] {
  const lines: string[] = []
  for (const i of result.images) lines.push(`${i.image} ${i.digest}`)
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
  lines.push(`blobs: ${b.uploaded} uploaded, ${b.mounted} mounted, ${b.exists} already there, ${b.pulled} pulled, ${b.present} already local (${formatBytes(b.bytes)} sent or received)`)
  return lines
}
