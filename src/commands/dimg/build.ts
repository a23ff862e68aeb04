import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {contextFromFlags} from '../../cli/context.js'
import {buildFlags, jsonFlag, projectFlags, registryFlags} from '../../cli/flags.js'
import {buildProject} from '../../workflows/build.js'

export default class DimgBuild extends BaseCommand {
  static summary = "Build the dimgs' stages into the local stages cache."
  static description = `Stages already in the cache are not built again. Artifacts are built first, independent dimgs in parallel.
New stages enter the cache only when every stage of their dimg succeeded (with --dev, each as soon as it succeeds, into a separate cache).`
  static examples = ['<%= config.bin %> dimg build', '<%= config.bin %> dimg build backend --dir ./app', '<%= config.bin %> dimg build --json']
  static strict = false
  static args = {}
  static usage = 'dimg build [DIMG ...]'
  static flags = {...projectFlags, ...buildFlags, ...registryFlags, ...jsonFlag, parallel: Flags.integer({description: 'Dimgs built at the same time.', default: 2, min: 1})}

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(DimgBuild)
    const ctx = contextFromFlags(flags)
    try {
      const {report} = await buildProject(ctx, {
        dir: flags.dir,
        dimgs: argv as string[],
        dev: flags.dev,
        isolation: flags.isolation as 'namespaces' | 'chroot',
        compression: flags.compression as 'gzip' | 'none',
        introspectError: flags['introspect-error'],
        parallel: flags.parallel,
      })
      if (flags.json) return this.printJson(report)
      this.log(`${report.project}: ${report.built} stages built, ${report.cached} cached in ${report.seconds.toFixed(1)}s`)
    } finally {
      await ctx.close()
    }
  }
}
