import {Flags} from '@oclif/core'

import {WorkflowCommand} from '../../cli/workflow-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {dimgsAndRepo, dimgsAndRepoArgs} from '../../cli/args.js'
import {tagOptionsFromFlags} from '../../cli/dimg-flags.js'
import {buildFlags, parallelFlag, reportFlags, projectFlags, registryFlags, tagFlags} from '../../cli/flags.js'
import {buildSummary} from '../../cli/build-output.js'
import {syncOutput} from '../../cli/sync-output.js'
import {buildAndPush, type BuildAndPushResult} from '../../workflows/bp.js'

export default class DimgBp extends WorkflowCommand<BuildAndPushResult> {
  static summary = 'Build and push in one run (the plan is computed once).'
  static description = describeCommand(
    'Builds as `dimg build --repo REPO` does (a stage REPO has is not built, nor downloaded unless built on), then pushes the final images as `dimg push` does; with --with-stages each dimg\'s stages go to REPO as soon as it is built. Stages built on stages only REPO has stay out of the local cache: the push mounts their lower layers from REPO.',
  )
  static usage = 'dimg bp [DIMG ...] REPO'
  static examples = [
    '<%= config.bin %> dimg bp localhost:5000/myproject --with-stages --tag-ci',
    '<%= config.bin %> dimg bp backend worker localhost:5000/myproject --tag-plain v1.2 --parallel 2',
    'SLIPWAY_REPO=localhost:5000/myproject SLIPWAY_TAG_PLAIN=v1.2,latest <%= config.bin %> dimg bp --report-file bp.json',
  ]
  static strict = false
  static args = dimgsAndRepoArgs
  static flags = {
    ...projectFlags,
    ...buildFlags,
    ...parallelFlag,
    ...tagFlags,
    'with-stages': Flags.boolean({description: 'Push the stages cache to REPO as well.'}),
    ...registryFlags,
    ...reportFlags,
  }

  async run(): Promise<BuildAndPushResult> {
    const {flags, argv} = await this.parse(DimgBp)
    const {dimgs, repo} = dimgsAndRepo(argv as string[], 'dimg bp')
    const ctx = this.context(flags, repo.registry)
    const result = await buildAndPush(ctx, {
      repo,
      tags: tagOptionsFromFlags(flags),
      withStages: flags['with-stages'],
      dir: flags.dir,
      dimgs,
      dev: flags.dev,
      isolation: flags.isolation as 'namespaces' | 'chroot',
      compression: flags.compression as 'gzip' | 'none',
      introspectError: flags['introspect-error'],
      parallel: flags.parallel,
    })
    this.note(buildSummary(result.build))
    this.print(syncOutput(result.push, ctx.transfers.totals, 'images'))
    return result
  }
}
