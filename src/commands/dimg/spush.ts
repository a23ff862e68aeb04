import {WorkflowCommand} from '../../cli/workflow-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {dimgsAndRepo, dimgsAndRepoArgs} from '../../cli/args.js'
import {tagOptionsFromFlags} from '../../cli/dimg-flags.js'
import {reportFlags, projectFlags, registryFlags, tagFlags} from '../../cli/flags.js'
import {syncOutput} from '../../cli/sync-output.js'
import {SlipwayError} from '../../errors.js'
import type {SyncResult} from '../../transfer/stage-sync.js'
import {pushProject} from '../../workflows/push-final-images.js'

export default class DimgSpush extends WorkflowCommand<SyncResult> {
  static summary = 'Push one dimg to REPO used as is (REPO:TAG, no dimg name added).'
  static description = describeCommand('For a project of several dimgs, name the one to push; the image comes from the local stages cache. With no tag option the tag is `latest`.')
  static usage = 'dimg spush [DIMG] REPO'
  static examples = [
    '<%= config.bin %> dimg spush backend registry.example/team/backend --tag-ci',
    '<%= config.bin %> dimg spush localhost:5000/myapp --tag-plain v1.2',
  ]
  static strict = false
  static args = dimgsAndRepoArgs
  static flags = {...projectFlags, ...tagFlags, ...registryFlags, ...reportFlags}

  async run(): Promise<SyncResult> {
    const {flags, argv} = await this.parse(DimgSpush)
    const {dimgs, repo} = dimgsAndRepo(argv as string[], 'dimg spush')
    if (dimgs.length > 1) throw new SlipwayError('usage', `dimg spush takes at most one DIMG, got ${dimgs.length}`, {hint: 'usage: slipway dimg spush [DIMG] REPO'})
    const ctx = this.context(flags, repo.registry)
    const result = await pushProject(ctx, {dir: flags.dir, dimgs, dev: flags.dev}, {repo, tags: tagOptionsFromFlags(flags), asIs: true})
    this.print(syncOutput(result, ctx.transfers.totals, 'images'))
    return result
  }
}
