import {Args} from '@oclif/core'

import {BaseCommand} from '../../../../cli/base-command.js'
import {REPO_ENV} from '../../../../cli/args.js'
import {describeCommand} from '../../../../cli/help-text.js'
import {cleanupFlags, cleanupRequestFromFlags} from '../../../../cli/cleanup-flags.js'
import {contextFromFlags} from '../../../../cli/context.js'
import {dryRunFlag, jsonFlag, projectFlags, registryFlags} from '../../../../cli/flags.js'
import {cleanupJson, cleanupLines} from '../../../../cli/stages-output.js'
import {cleanupStages} from '../../../../workflows/cleanup-stages.js'

export default class StagesCleanupLocal extends BaseCommand {
  static summary = 'Delete local stages by policy.'
  static description = describeCommand(
    `Policies combine. --improper-repo-cache needs REPO and refuses to run against a REPO with no final images (it would delete the whole local cache) unless --force. Stages younger than --keep-younger-than are kept, and so is everything they are built on.`,
  )
  static examples = [
    '<%= config.bin %> dimg stages cleanup local --improper-repo-cache localhost:5000/myproject',
    '<%= config.bin %> dimg stages cleanup local --improper-git-commit --improper-cache-version --dry-run',
  ]
  static args = {repo: Args.string({description: 'Registry repository whose final images are kept (for --improper-repo-cache), host[:port]/path; default $SLIPWAY_REPO.'})}
  static flags = {...projectFlags, ...cleanupFlags, ...registryFlags, ...dryRunFlag, ...jsonFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(StagesCleanupLocal)
    const request = cleanupRequestFromFlags(flags, args.repo ?? process.env[REPO_ENV])
    const ctx = contextFromFlags(flags, request.repo?.registry)
    try {
      const result = await cleanupStages(ctx, 'local', request)
      if (flags.json) return this.printJson(cleanupJson(result))
      for (const line of cleanupLines(result)) this.log(line)
    } finally {
      await ctx.close()
    }
  }
}
