import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {dimgsAndRepo, dimgsAndRepoArgs} from '../../cli/args.js'
import {contextFromFlags} from '../../cli/context.js'
import {tagOptionsFromFlags} from '../../cli/dimg-flags.js'
import {reportFlags, projectFlags, registryFlags, tagFlags} from '../../cli/flags.js'
import {syncResultLines, syncSummary} from '../../cli/sync-output.js'
import {planWithCaches} from '../../project/index.js'
import {pushFinalImages} from '../../workflows/push-final-images.js'

export default class DimgPush extends BaseCommand {
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

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(DimgPush)
    const {dimgs, repo} = dimgsAndRepo(argv as string[], 'dimg push')
    const ctx = contextFromFlags(flags, repo.registry)
    try {
      const {plan} = await planWithCaches(ctx, {dir: flags.dir, dimgs, dev: flags.dev, repo})
      const result = await pushFinalImages(ctx, plan, repo, {tags: tagOptionsFromFlags(flags), withStages: flags['with-stages']})
      for (const line of syncSummary(result, ctx.transfers.totals)) this.note(line)
      if (await this.emitResult(flags, result)) return
      for (const line of syncResultLines(result, 'images')) this.log(line)
    } finally {
      await ctx.close()
    }
  }
}
