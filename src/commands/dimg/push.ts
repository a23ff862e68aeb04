import {Flags} from '@oclif/core'

import {WorkflowCommand} from '../../cli/workflow-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {dimgsAndRepo, dimgsAndRepoArgs} from '../../cli/args.js'
import {tagOptionsFromFlags} from '../../cli/dimg-flags.js'
import {reportFlags, projectFlags, registryFlags, tagFlags} from '../../cli/flags.js'
import {syncOutput} from '../../cli/sync-output.js'
import type {SyncResult} from '../../transfer/stage-sync.js'
import {pushProject} from '../../workflows/push-final-images.js'

export default class DimgPush extends WorkflowCommand<SyncResult> {
  static summary = 'Push final images: REPO/DIMG:TAG for named dimgs, REPO:TAG for the unnamed one.'
  static description = describeCommand(
    'The images come from the local stages cache (build them first, or use `dimg bp`). Artifacts are never pushed as final images. With no tag option the tag is `latest`. --with-stages pushes the stages cache to REPO too.',
  )
  static usage = 'dimg push [DIMG ...] REPO'
  static examples = [
    '<%= config.bin %> dimg push localhost:5000/myproject --tag-commit',
    '<%= config.bin %> dimg push backend localhost:5000/myproject --tag v1.2 --with-stages',
    'SLIPWAY_REPO=localhost:5000/myproject SLIPWAY_TAG_CI=1 <%= config.bin %> dimg push',
  ]
  static strict = false
  static args = dimgsAndRepoArgs
  static flags = {
    ...projectFlags,
    ...tagFlags,
    'with-stages': Flags.boolean({description: 'Push the stages cache to REPO as well.'}),
    ...registryFlags,
    ...reportFlags,
  }

  async run(): Promise<SyncResult> {
    const {flags, argv} = await this.parse(DimgPush)
    const {dimgs, repo} = dimgsAndRepo(argv as string[], 'dimg push')
    const ctx = this.context(flags, repo.registry)
    const result = await pushProject(ctx, {dir: flags.dir, dimgs, dev: flags.dev, repo}, {repo, tags: tagOptionsFromFlags(flags), withStages: flags['with-stages']})
    this.print(syncOutput(result, ctx.transfers.totals, 'images'))
    return result
  }
}
