import {WorkflowCommand} from '../../cli/workflow-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {dryRunFlag} from '../../cli/flags.js'
import {formatBytes} from '../../cli/progress.js'
import {cleanupLeftovers, type LeftoversResult} from '../../workflows/leftovers.js'

export default class DimgCleanup extends WorkflowCommand<LeftoversResult> {
  static summary = 'Delete what killed builds left behind: temporary root filesystems, half-written and unreferenced blobs.'
  static description = describeCommand('Builds running at the same time are not disturbed: their directories, the blobs they hold and blobs younger than a minute are kept.')
  static examples = ['<%= config.bin %> dimg cleanup --dry-run', '<%= config.bin %> dimg cleanup --json']
  static flags = {...dryRunFlag}

  async run(): Promise<LeftoversResult> {
    const {flags} = await this.parse(DimgCleanup)
    const result = await cleanupLeftovers(this.context(flags), {dryRun: flags['dry-run']})
    const verb = result.dryRun ? 'would remove' : 'removed'
    this.log(
      `${verb} ${result.buildDirs.length} build directories, ${result.gc.removedTemp.length} temporary files, ${result.gc.removedBlobs.length} unreferenced blobs (${formatBytes(result.gc.freedBytes)}) and ${result.keptRoots.length} stale kept roots`,
    )
    return result
  }
}
