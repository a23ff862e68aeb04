import {BaseCommand} from '../../../../cli/base-command.js'
import {describeCommand} from '../../../../cli/help-text.js'
import {contextFromFlags} from '../../../../cli/context.js'
import {dryRunFlag, jsonFlag, projectFlags} from '../../../../cli/flags.js'
import {cleanupJson, cleanupLines} from '../../../../cli/stages-output.js'
import {flushStages} from '../../../../workflows/flush-stages.js'

export default class StagesFlushLocal extends BaseCommand {
  static summary = "Delete the project's whole local stages cache."
  static description = describeCommand('Other projects\' stages and images pulled with `image pull` stay; `store gc` then frees the blobs nothing references.')
  static examples = ['<%= config.bin %> dimg stages flush local --dry-run', '<%= config.bin %> dimg stages flush local --dir ./app']
  static flags = {dir: projectFlags.dir, ...dryRunFlag, ...jsonFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(StagesFlushLocal)
    const ctx = contextFromFlags(flags)
    const result = await flushStages(ctx, 'local', {dir: flags.dir, dryRun: flags['dry-run']})
    if (flags.json) return this.printJson(cleanupJson(result))
    for (const line of cleanupLines(result)) this.log(line)
  }
}
