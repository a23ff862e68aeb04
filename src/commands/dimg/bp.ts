import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {dimgsAndRepo} from '../../cli/args.js'
import {contextFromFlags} from '../../cli/context.js'
import {tagOptionsFromFlags} from '../../cli/dimg-flags.js'
import {buildFlags, jsonFlag, projectFlags, registryFlags, tagFlags} from '../../cli/flags.js'
import {syncSummary} from '../../cli/sync-output.js'
import {buildProject} from '../../workflows/build.js'
import {mergeResults, pushFinalImages, pushStages, type SyncResult} from '../../workflows/registry-sync.js'

export default class DimgBp extends BaseCommand {
  static summary = 'Build and push in one run (the plan is computed once).'
  static usage = 'dimg bp [DIMG ...] REPO'
  static examples = ['<%= config.bin %> dimg bp localhost:5000/myproject --with-stages --tag-ci']
  static strict = false
  static flags = {
    ...projectFlags,
    ...buildFlags,
    ...tagFlags,
    'with-stages': Flags.boolean({description: 'Push the stages cache to REPO as well.'}),
    ...registryFlags,
    ...jsonFlag,
  }

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(DimgBp)
    const {dimgs, repo} = dimgsAndRepo(argv as string[], 'dimg bp')
    const ctx = contextFromFlags(flags, repo.registry)
    try {
      // with --with-stages each dimg's stages go up as soon as it is built, while the others build
      const stagePushes: Promise<SyncResult>[] = []
      const {plan, report} = await buildProject(ctx, {
        onDimgBuilt: flags['with-stages']
          ? (p, dimg) => {
              const push = pushStages(ctx, p, repo, [dimg])
              push.catch(() => {}) // awaited below; a failed build must not leave it unhandled
              stagePushes.push(push)
            }
          : undefined,
        dir: flags.dir,
        dimgs,
        dev: flags.dev,
        isolation: flags.isolation as 'namespaces' | 'chroot',
        compression: flags.compression as 'gzip' | 'none',
        introspectError: flags['introspect-error'],
      })
      const stages = await Promise.all(stagePushes)
      const result = mergeResults([...stages, await pushFinalImages(ctx, plan, repo, {tags: tagOptionsFromFlags(flags)})])
      const {bytesUploaded, bytesDownloaded} = ctx.transfers.totals
      if (flags.json) return this.printJson({build: report, push: result, bytesUploaded, bytesDownloaded})
      this.log(`${report.project}: ${report.built} stages built, ${report.cached} cached in ${report.seconds.toFixed(1)}s`)
      for (const line of syncSummary(result, ctx.transfers.totals)) this.log(line)
    } finally {
      await ctx.close()
    }
  }
}
