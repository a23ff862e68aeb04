import {Args} from '@oclif/core'

import {WorkflowCommand} from '../../../../cli/workflow-command.js'
import {REPO_ENV} from '../../../../cli/args.js'
import {describeCommand} from '../../../../cli/help-text.js'
import {cleanupFlags, cleanupRequestFromFlags} from '../../../../cli/cleanup-flags.js'
import {dryRunFlag, projectFlags, registryFlags} from '../../../../cli/flags.js'
import {type CleanupJson, cleanupJson, cleanupLines} from '../../../../cli/stages-output.js'
import {cleanupStages} from '../../../../workflows/cleanup-stages.js'

export default class StagesCleanupLocal extends WorkflowCommand<CleanupJson> {
  static summary = 'Delete local stages by policy.'
  static description = describeCommand(
    `Policies combine. --improper-repo-cache needs REPO and refuses to run against a REPO with no final images (it would delete the whole local cache) unless --force. Stages younger than --keep-younger-than are kept, and so is everything they are built on.`,
  )
  static examples = [
    '<%= config.bin %> dimg stages cleanup local --improper-repo-cache localhost:5000/myproject',
    '<%= config.bin %> dimg stages cleanup local --improper-git-commit --improper-cache-version --dry-run',
  ]
  static args = {repo: Args.string({description: 'Registry repository whose final images are kept (for --improper-repo-cache), host[:port]/path; default $SLIPWAY_REPO.'})}
  static flags = {...projectFlags, ...cleanupFlags, ...registryFlags, ...dryRunFlag}

  async run(): Promise<CleanupJson> {
    const {args, flags} = await this.parse(StagesCleanupLocal)
    const request = cleanupRequestFromFlags(flags, args.repo ?? process.env[REPO_ENV])
    const result = await cleanupStages(this.context(flags, request.repo?.registry), 'local', request)
    for (const line of cleanupLines(result)) this.log(line)
    return cleanupJson(result)
  }
}
