import {BaseCommand} from '../../cli/base-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {contextFromFlags} from '../../cli/context.js'
import {dryRunFlag, jsonFlag} from '../../cli/flags.js'
import {formatBytes} from '../../cli/progress.js'
import {cleanupLeftovers} from '../../workflows/leftovers.js'

export default class DimgCleanup extends BaseCommand {
  static summary = 'Delete what killed builds left behind: temporary root filesystems, half-written and unreferenced blobs.'
  static description = describeCommand('Builds running at the same time are not disturbed: their directories, the blobs they hold and blobs younger than a minute are kept.')
  static examples = ['<%= config.bin %> dimg cleanup --dry-run', '<%= config.bin %> dimg cleanup --json']
  static flags = {...dryRunFlag, ...jsonFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(DimgCleanup)
    const result = await cleanupLeftovers(contextFromFlags(flags), {dryRun: flags['dry-run']})
    if (flags.json) return this.printJson(result)
    const verb = result.dryRun ? 'would remove' : 'removed'
    this.log(
      `${verb} ${result.buildDirs.length} build directories, ${result.gc.removedTemp.length} temporary files, ${result.gc.removedBlobs.length} unreferenced blobs (${formatBytes(result.gc.freedBytes)}) and ${result.keptRoots.length} stale kept roots`,
    )
  }
}
