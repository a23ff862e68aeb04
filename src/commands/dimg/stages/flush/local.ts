import {WorkflowCommand} from '../../../../cli/workflow-command.js'
import {describeCommand} from '../../../../cli/help-text.js'
import {dryRunFlag, projectFlags} from '../../../../cli/flags.js'
import {type CleanupJson, cleanupJson, cleanupLines} from '../../../../cli/stages-output.js'
import {flushStages} from '../../../../workflows/flush-stages.js'

export default class StagesFlushLocal extends WorkflowCommand<CleanupJson> {
  static summary = "Delete the project's whole local stages cache."
  static description = describeCommand('Other projects\' stages and images pulled with `image pull` stay; `store gc` then frees the blobs nothing references.')
  static examples = ['<%= config.bin %> dimg stages flush local --dry-run', '<%= config.bin %> dimg stages flush local --dir ./app']
  static flags = {dir: projectFlags.dir, ...dryRunFlag}

  async run(): Promise<CleanupJson> {
    const {flags} = await this.parse(StagesFlushLocal)
    const result = await flushStages(this.context(flags), 'local', {dir: flags.dir, dryRun: flags['dry-run']})
    for (const line of cleanupLines(result)) this.log(line)
    return cleanupJson(result)
  }
}
