import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {contextFromFlags} from '../../cli/context.js'
import {buildFlags, reportFlags, projectFlags, registryFlags} from '../../cli/flags.js'
import {buildSummary} from '../../cli/build-output.js'
import {parseRepository} from '../../oci/ref.js'
import {buildProject} from '../../workflows/build.js'

export default class DimgBuild extends BaseCommand {
  static summary = "Build the dimgs' stages into the local stages cache."
  static description = `Stages already in the cache are not built again. Artifacts are built first, independent dimgs in parallel.
New stages enter the cache only when every stage of their dimg succeeded (with --dev, each as soon as it succeeds, into a separate cache).
With --repo REPO (or SLIPWAY_REPO) the build plans against REPO's stages too: a stage found there as REPO:dimgstage-<signature> is not built, and nothing of it is downloaded unless a stage that must be built reads its files.`
  static examples = ['<%= config.bin %> dimg build', '<%= config.bin %> dimg build backend --dir ./app', '<%= config.bin %> dimg build --json', '<%= config.bin %> dimg build --repo localhost:5000/myproject']
  static strict = false
  static args = {}
  static usage = 'dimg build [DIMG ...]'
  static flags = {
    ...projectFlags,
    ...buildFlags,
    repo: Flags.string({description: 'Registry repository whose stages (REPO:dimgstage-*) count as cached.', env: 'SLIPWAY_REPO', helpValue: 'REPO'}),
    ...registryFlags,
    ...reportFlags,
    parallel: Flags.integer({description: 'Dimgs built at the same time.', default: 2, min: 1}),
  }

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(DimgBuild)
    const repo = flags.repo ? parseRepository(flags.repo) : undefined
    const ctx = contextFromFlags(flags, repo?.registry)
    try {
      const {report} = await buildProject(ctx, {
        dir: flags.dir,
        ...(repo ? {repo} : {}),
        dimgs: argv as string[],
        dev: flags.dev,
        isolation: flags.isolation as 'namespaces' | 'chroot',
        compression: flags.compression as 'gzip' | 'none',
        introspectError: flags['introspect-error'],
        parallel: flags.parallel,
      })
      this.note(buildSummary(report))
      await this.emitResult(flags, report)
    } finally {
      await ctx.close()
    }
  }
}
