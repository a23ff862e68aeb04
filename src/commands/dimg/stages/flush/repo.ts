import {WorkflowCommand} from '../../../../cli/workflow-command.js'
import {describeCommand} from '../../../../cli/help-text.js'
import {repoArg, repoOrEnv} from '../../../../cli/args.js'
import {dryRunFlag, projectFlags, registryFlags} from '../../../../cli/flags.js'
import {type CleanupJson, cleanupJson, cleanupLines} from '../../../../cli/stages-output.js'
import {parseRepository} from '../../../../oci/ref.js'
import {flushStages} from '../../../../workflows/flush-stages.js'

export default class StagesFlushRepo extends WorkflowCommand<CleanupJson> {
  static summary = "Delete the project's whole stages cache in REPO; final images stay."
  static description = describeCommand("Every REPO:dimgstage-* tag of this project is deleted; the registry's own garbage collection reclaims the blobs.")
  static examples = ['<%= config.bin %> dimg stages flush repo localhost:5000/myproject --dry-run', '<%= config.bin %> dimg stages flush repo localhost:5000/myproject && <%= config.bin %> dimg push --with-stages localhost:5000/myproject']
  static args = {repo: repoArg}
  static flags = {dir: projectFlags.dir, ...registryFlags, ...dryRunFlag}

  async run(): Promise<CleanupJson> {
    const {args, flags} = await this.parse(StagesFlushRepo)
    const repo = parseRepository(repoOrEnv(args.repo, 'dimg stages flush repo'))
    const result = await flushStages(this.context(flags, repo.registry), 'repo', {dir: flags.dir, repo, dryRun: flags['dry-run']})
    for (const line of cleanupLines(result)) this.log(line)
    return cleanupJson(result)
  }
}
