import {Flags} from '@oclif/core'

import {WorkflowCommand} from '../../../cli/workflow-command.js'
import {describeCommand} from '../../../cli/help-text.js'
import {dimgsAndRepo, dimgsAndRepoArgs} from '../../../cli/args.js'
import {dryRunFlag, reportFlags, projectFlags, registryFlags} from '../../../cli/flags.js'
import {stagesSyncOutput} from '../../../cli/sync-output.js'
import type {StagesListingJson} from '../../../project/index.js'
import type {SyncResult} from '../../../transfer/stage-sync.js'
import {pullProjectStages} from '../../../workflows/pull-stages.js'

export default class StagesPull extends WorkflowCommand<SyncResult | StagesListingJson> {
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

  async run(): Promise<SyncResult | StagesListingJson> {
    const {flags, argv} = await this.parse(StagesPull)
    const {dimgs, repoText, repo} = dimgsAndRepo(argv as string[], 'dimg stages pull')
    const ctx = this.context(flags, repo.registry)
    const result = await pullProjectStages(ctx, {dir: flags.dir, dimgs, dev: flags.dev, repo, repoText, all: flags.all, dryRun: flags['dry-run']})
    this.print(stagesSyncOutput(result, ctx.transfers.totals))
    return result
  }
}
