import {BaseCommand} from '../../../../cli/base-command.js'
import {describeCommand} from '../../../../cli/help-text.js'
import {repoArg, repoOrEnv} from '../../../../cli/args.js'
import {contextFromFlags} from '../../../../cli/context.js'
import {dryRunFlag, jsonFlag, projectFlags, registryFlags} from '../../../../cli/flags.js'
import {cleanupJson, cleanupLines} from '../../../../cli/stages-output.js'
import {parseRepository} from '../../../../oci/ref.js'
import {flushStages} from '../../../../workflows/flush-stages.js'

export default class StagesFlushRepo extends BaseCommand {
  static summary = "Delete the project's whole stages cache in REPO; final images stay."
  static description = describeCommand("Every REPO:dimgstage-* tag of this project is deleted; the registry's own garbage collection reclaims the blobs.")
  static examples = ['<%= config.bin %> dimg stages flush repo localhost:5000/myproject --dry-run', '<%= config.bin %> dimg stages flush repo localhost:5000/myproject && <%= config.bin %> dimg push --with-stages localhost:5000/myproject']
  static args = {repo: repoArg}
  static flags = {dir: projectFlags.dir, ...registryFlags, ...dryRunFlag, ...jsonFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(StagesFlushRepo)
    const repo = parseRepository(repoOrEnv(args.repo, 'dimg stages flush repo'))
    const ctx = contextFromFlags(flags, repo.registry)
    try {
      const result = await flushStages(ctx, 'repo', {dir: flags.dir, repo, dryRun: flags['dry-run']})
      if (flags.json) return this.printJson(cleanupJson(result))
      for (const line of cleanupLines(result)) this.log(line)
    } finally {
      await ctx.close()
    }
  }
}
