import {Flags} from '@oclif/core'

import {WorkflowCommand} from '../../cli/workflow-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {dimgsArgs} from '../../cli/args.js'
import {buildFlags, parallelFlag, reportFlags, projectFlags, registryFlags} from '../../cli/flags.js'
import {buildSummary} from '../../cli/build-output.js'
import {parseRepository} from '../../oci/ref.js'
import {buildProject, type BuildReport} from '../../workflows/build.js'

export default class DimgBuild extends WorkflowCommand<BuildReport> {
  static summary = "Build the dimgs' stages into the local stages cache."
  static description = describeCommand(
    `Stages already in the cache are not built again. Artifacts are built first, independent dimgs in parallel (--parallel); a dimg built on another (fromDimg, imports) waits for it.
New stages enter the cache only when every stage of their dimg succeeded (with --dev, each as soon as it succeeds, into a separate cache). When a dimg fails, the dimgs not started yet are not started, those building finish, and the first failure is the error.
With --repo REPO (or SLIPWAY_REPO) the build plans against REPO's stages too: a stage found there as REPO:dimgstage-<signature> is not built, and nothing of it is downloaded unless a stage that must be built reads its files.`,
  )
  static examples = [
    '<%= config.bin %> dimg build',
    '<%= config.bin %> dimg build backend --dir ./app --parallel 4',
    '<%= config.bin %> dimg build --repo localhost:5000/myproject --json',
    'SLIPWAY_DIR=./app SLIPWAY_REPO=localhost:5000/myproject <%= config.bin %> dimg build --report-file build.json',
  ]
  static strict = false
  static args = dimgsArgs
  static usage = 'dimg build [DIMG ...]'
  static flags = {
    ...projectFlags,
    ...buildFlags,
    repo: Flags.string({description: 'Registry repository whose stages (REPO:dimgstage-*) count as cached.', env: 'SLIPWAY_REPO', helpValue: 'REPO'}),
    ...registryFlags,
    ...reportFlags,
    ...parallelFlag,
  }

  async run(): Promise<BuildReport> {
    const {flags, argv} = await this.parse(DimgBuild)
    const repo = flags.repo ? parseRepository(flags.repo) : undefined
    const {report} = await buildProject(this.context(flags, repo?.registry), {
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
    return report
  }
}
