import type {BuildReport} from '../workflows/build.js'
import {formatBytes} from './progress.js'

/** The one line a build ends with: what was built, found, and what it cost in downloads. */
export function buildSummary(report: BuildReport): string {
  const remote = report.cachedRemote > 0 ? `, ${report.cachedRemote} cached in REPO` : ''
  return `${report.project}: ${report.built} stages built, ${report.cached} cached${remote} in ${report.seconds.toFixed(1)}s; downloaded ${formatBytes(report.bytesDownloaded)}`
}
