import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {dimgsAndRepo} from '../../cli/args.js'
import {contextFromFlags} from '../../cli/context.js'
import {tagOptionsFromFlags} from '../../cli/dimg-flags.js'
import {buildFlags, jsonFlag, projectFlags, registryFlags, tagFlags} from '../../cli/flags.js'
import {buildSummary} from '../../cli/build-output.js'
import {syncSummary} from '../../cli/sync-output.js'
import {buildProject} from '../../workflows/build.js'
import {keepStagesLocally} from '../../workflows/local-stages.js'
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
    // stages built on stages that are only in REPO keep their new layers in the store under this lease
    const lease = await (await ctx.store()).lease()
    try {
      // with --with-stages each dimg's stages go up as soon as it is built, while the others build
      const localized: Promise<number>[] = []
      const stagePushes: Promise<SyncResult>[] = []
      const {plan, report} = await buildProject(ctx, {
        onDimgBuilt: (p, dimg, outcome) => {
          const local = keepStagesLocally(ctx, p, repo, outcome, lease)
          localized.push(local)
          local.catch(() => {}) // awaited below; a failed build must not leave it unhandled
          if (!flags['with-stages']) return
          const push = local.then(() => pushStages(ctx, p, repo, [dimg]))
          push.catch(() => {})
          stagePushes.push(push)
        },
        repo,
        lease,
        dir: flags.dir,
        dimgs,
        dev: flags.dev,
        isolation: flags.isolation as 'namespaces' | 'chroot',
        compression: flags.compression as 'gzip' | 'none',
        introspectError: flags['introspect-error'],
      })
      for (const bytes of await Promise.all(localized)) report.bytesDownloaded += bytes
      const stages = await Promise.all(stagePushes)
      const result = mergeResults([...stages, await pushFinalImages(ctx, plan, repo, {tags: tagOptionsFromFlags(flags)})])
      if (flags.json) return this.printJson({build: report, push: result})
      this.log(buildSummary(report))
      for (const line of syncSummary(result)) this.log(line)
    } finally {
      await lease.release()
      await ctx.close()
    }
  }
}
