import {Flags} from '@oclif/core'

import {WorkflowCommand} from '../../cli/workflow-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {dryRunFlag} from '../../cli/flags.js'
import {formatBytes} from '../../cli/progress.js'
import {collectStoreGarbage, type StoreGcResult} from '../../workflows/store-images.js'

export default class StoreGc extends WorkflowCommand<StoreGcResult> {
  static summary = 'Remove blobs of the local store that no image references.'
  static description = describeCommand('Blobs and temporary files younger than --min-age are kept, so that a slipway process writing at the same time is never disturbed.')
  static examples = ['<%= config.bin %> store gc --dry-run', '<%= config.bin %> store gc --min-age 0 --json']
  static flags = {
    'min-age': Flags.integer({description: 'Keep unreferenced blobs younger than this many minutes.', default: 60, min: 0}),
    ...dryRunFlag,
  }

  async run(): Promise<StoreGcResult> {
    const {flags} = await this.parse(StoreGc)
    const result = await collectStoreGarbage(this.context(flags), {dryRun: flags['dry-run'], minAgeMinutes: flags['min-age']})
    const verb = flags['dry-run'] ? 'would remove' : 'removed'
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
    this.log(`${verb} ${plural(result.removedBlobs.length, 'blob')} (${formatBytes(result.freedBytes)}), ${plural(result.removedTemp.length, 'temporary file')} and ${plural(result.keptRoots.length, 'stale kept root')}`)
    return result
  }
}
