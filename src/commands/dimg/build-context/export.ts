import {Flags} from '@oclif/core'

import {WorkflowCommand} from '../../../cli/workflow-command.js'
import {describeCommand} from '../../../cli/help-text.js'
import {dimgsArgs} from '../../../cli/args.js'
import {projectFlags} from '../../../cli/flags.js'
import {formatBytes} from '../../../cli/progress.js'
import {exportBuildContext, type ExportResult} from '../../../workflows/build-context.js'

export default class BuildContextExport extends WorkflowCommand<ExportResult> {
  static summary = "Write the project's stages cache (images.tar) and build directory (build.tar) for another machine."
  static description = describeCommand('images.tar is an OCI image layout archive: `skopeo copy oci-archive:images.tar:dimgstage-PROJECT:SIGNATURE …` reads it. Name dimgs to export only their stages.')
  static usage = 'dimg build-context export [DIMG ...]'
  static examples = ['<%= config.bin %> dimg build-context export --build-context-directory /cache', '<%= config.bin %> dimg build-context export backend --dir ./app --json']
  static strict = false
  static args = dimgsArgs
  static flags = {
    dir: projectFlags.dir,
    'build-context-directory': Flags.string({description: 'Where images.tar and build.tar are written.', default: '.'}),
  }

  async run(): Promise<ExportResult> {
    const {flags, argv} = await this.parse(BuildContextExport)
    const result = await exportBuildContext(this.context(flags), {dir: flags.dir, directory: flags['build-context-directory'], dimgs: argv as string[]})
    this.log(`${result.images.file}: ${result.images.stages} stages, ${result.images.blobs} blobs, ${formatBytes(result.images.bytes)}`)
    this.log(`${result.build.file}: ${result.build.entries} entries, ${formatBytes(result.build.bytes)}`)
    return result
  }
}
