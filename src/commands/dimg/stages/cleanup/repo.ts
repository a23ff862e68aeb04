import {WorkflowCommand} from '../../../../cli/workflow-command.js'
import {describeCommand} from '../../../../cli/help-text.js'
import {repoArg, repoOrEnv} from '../../../../cli/args.js'
import {cleanupFlags, cleanupRequestFromFlags} from '../../../../cli/cleanup-flags.js'
import {dryRunFlag, projectFlags, registryFlags} from '../../../../cli/flags.js'
import {type CleanupJson, cleanupJson, cleanupLines} from '../../../../cli/stages-output.js'
import {cleanupStages} from '../../../../workflows/cleanup-stages.js'

export default class StagesCleanupRepo extends WorkflowCommand<CleanupJson> {
  static summary = 'Delete stages in REPO by policy.'
  static description = describeCommand(
    `The registry's final images are the source of truth: --improper-repo-cache deletes the REPO:dimgstage-* tags no final image in REPO uses. A tag is deleted without touching any other tag; the registry's own garbage collection (for distribution: registry garbage-collect) reclaims the blobs afterwards.`,
  )
  static examples = ['<%= config.bin %> dimg stages cleanup repo localhost:5000/myproject --improper-repo-cache --dry-run --json', '<%= config.bin %> dimg stages cleanup repo localhost:5000/myproject --improper-git-commit --keep-younger-than 24h']
  static args = {repo: repoArg}
  static flags = {...projectFlags, ...cleanupFlags, ...registryFlags, ...dryRunFlag}

  async run(): Promise<CleanupJson> {
    const {args, flags} = await this.parse(StagesCleanupRepo)
    const request = cleanupRequestFromFlags(flags, repoOrEnv(args.repo, 'dimg stages cleanup repo'))
    const result = await cleanupStages(this.context(flags, request.repo?.registry), 'repo', request)
    for (const line of cleanupLines(result)) this.log(line)
    return cleanupJson(result)
  }
}
