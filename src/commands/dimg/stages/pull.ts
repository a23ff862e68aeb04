import {Flags} from '@oclif/core'

import {BaseCommand} from '../../../cli/base-command.js'
import {describeCommand} from '../../../cli/help-text.js'
import {dimgsAndRepo, dimgsAndRepoArgs} from '../../../cli/args.js'
import {contextFromFlags} from '../../../cli/context.js'
import {dryRunFlag, reportFlags, projectFlags, registryFlags} from '../../../cli/flags.js'
import {syncResultLines, syncSummary} from '../../../cli/sync-output.js'
import {formatStagesListing, stagesListingJson} from '../../../cli/stages-output.js'
import {planWithCaches, type ProjectPlan} from '../../../project/index.js'
import {pullStages} from '../../../workflows/pull-stages.js'

/** Without --all, stages are looked for from the last one back: list them in that order. */
function lookupOrder(plan: ProjectPlan, all: boolean): ProjectPlan {
  return all ? plan : {...plan, dimgs: plan.dimgs.map(d => ({...d, stages: [...d.stages].reverse()}))}
}

export default class StagesPull extends BaseCommand {
  static summary = 'Import the stages cache the current project state needs from REPO.'
  static description = describeCommand(
    `Without --all, for each dimg (and each artifact it imports) only the latest planned stage that REPO has is pulled: stages are looked for from the last one back, and the search stops at the first one found locally or in REPO. With --all, every planned stage REPO has is pulled.
--dry-run lists the images that would be looked for, in the order they would be looked for.`,
  )
  static usage = 'dimg stages pull [DIMG ...] REPO'
  static examples = ['<%= config.bin %> dimg stages pull localhost:5000/myproject', '<%= config.bin %> dimg stages pull localhost:5000/myproject --all --dry-run', 'SLIPWAY_REPO=localhost:5000/myproject <%= config.bin %> dimg stages pull backend']
  static strict = false
  static args = dimgsAndRepoArgs
  static flags = {
    ...projectFlags,
    all: Flags.boolean({description: 'Pull every planned stage REPO has, not only the latest of each dimg.'}),
    ...registryFlags,
    ...dryRunFlag,
    ...reportFlags,
  }

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(StagesPull)
    const {dimgs, repoText, repo} = dimgsAndRepo(argv as string[], 'dimg stages pull')
    const ctx = contextFromFlags(flags, repo.registry)
    try {
      const {plan} = await planWithCaches(ctx, {dir: flags.dir, dimgs, dev: flags.dev, repo})
      if (flags['dry-run']) {
        const listed = lookupOrder(plan, flags.all)
        if (await this.emitResult(flags, stagesListingJson(listed, repoText))) return
        return void process.stdout.write(formatStagesListing(listed, repoText))
      }
      const result = await pullStages(ctx, plan, repo, {all: flags.all})
      for (const line of syncSummary(result, ctx.transfers.totals)) this.note(line)
      if (await this.emitResult(flags, result)) return
      for (const line of syncResultLines(result, 'stages')) this.log(line)
    } finally {
      await ctx.close()
    }
  }
}
