import {BaseCommand} from '../../../cli/base-command.js'
import {describeCommand} from '../../../cli/help-text.js'
import {dimgsAndRepo, dimgsAndRepoArgs} from '../../../cli/args.js'
import {contextFromFlags} from '../../../cli/context.js'
import {dryRunFlag, reportFlags, projectFlags, registryFlags} from '../../../cli/flags.js'
import {syncResultLines, syncSummary} from '../../../cli/sync-output.js'
import {formatStagesListing, stagesListingJson} from '../../../cli/stages-output.js'
import {planWithCaches} from '../../../project/index.js'
import {pushStages} from '../../../workflows/push-stages.js'

export default class StagesPush extends BaseCommand {
  static summary = 'Push the stages cache to REPO as REPO:dimgstage-<signature>.'
  static description = describeCommand('A stage tag is written once: a tag that is already in REPO is kept as it is (first writer wins). Blobs REPO has are not sent again.')
  static usage = 'dimg stages push [DIMG ...] REPO'
  static examples = ['<%= config.bin %> dimg stages push localhost:5000/myproject', '<%= config.bin %> dimg stages push backend localhost:5000/myproject --dry-run', 'SLIPWAY_REPO=localhost:5000/myproject <%= config.bin %> dimg stages push --report-file stages.json']
  static strict = false
  static args = dimgsAndRepoArgs
  static flags = {...projectFlags, ...registryFlags, ...dryRunFlag, ...reportFlags}

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(StagesPush)
    const {dimgs, repoText, repo} = dimgsAndRepo(argv as string[], 'dimg stages push')
    const ctx = contextFromFlags(flags, repo.registry)
    try {
      const {plan} = await planWithCaches(ctx, {dir: flags.dir, dimgs, dev: flags.dev})
      if (flags['dry-run']) {
        if (await this.emitResult(flags, stagesListingJson(plan, repoText))) return
        return void process.stdout.write(formatStagesListing(plan, repoText))
      }
      const result = await pushStages(ctx, plan, repo)
      for (const line of syncSummary(result, ctx.transfers.totals)) this.note(line)
      if (await this.emitResult(flags, result)) return
      for (const line of syncResultLines(result, 'stages')) this.log(line)
    } finally {
      await ctx.close()
    }
  }
}
