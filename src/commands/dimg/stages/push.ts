import {WorkflowCommand} from '../../../cli/workflow-command.js'
import {describeCommand} from '../../../cli/help-text.js'
import {dimgsAndRepo, dimgsAndRepoArgs} from '../../../cli/args.js'
import {dryRunFlag, reportFlags, projectFlags, registryFlags} from '../../../cli/flags.js'
import {stagesSyncOutput} from '../../../cli/sync-output.js'
import type {StagesListingJson} from '../../../project/index.js'
import type {SyncResult} from '../../../transfer/stage-sync.js'
import {pushProjectStages} from '../../../workflows/push-stages.js'

export default class StagesPush extends WorkflowCommand<SyncResult | StagesListingJson> {
  static summary = 'Push the stages cache to REPO as REPO:dimgstage-<signature>.'
  static description = describeCommand('A stage tag is written once: a tag that is already in REPO is kept as it is (first writer wins). Blobs REPO has are not sent again.')
  static usage = 'dimg stages push [DIMG ...] REPO'
  static examples = ['<%= config.bin %> dimg stages push localhost:5000/myproject', '<%= config.bin %> dimg stages push backend localhost:5000/myproject --dry-run', 'SLIPWAY_REPO=localhost:5000/myproject <%= config.bin %> dimg stages push --report-file stages.json']
  static strict = false
  static args = dimgsAndRepoArgs
  static flags = {...projectFlags, ...registryFlags, ...dryRunFlag, ...reportFlags}

  async run(): Promise<SyncResult | StagesListingJson> {
    const {flags, argv} = await this.parse(StagesPush)
    const {dimgs, repoText, repo} = dimgsAndRepo(argv as string[], 'dimg stages push')
    const ctx = this.context(flags, repo.registry)
    const result = await pushProjectStages(ctx, {dir: flags.dir, dimgs, dev: flags.dev, repo, repoText, dryRun: flags['dry-run']})
    this.print(stagesSyncOutput(result, ctx.transfers.totals))
    return result
  }
}
