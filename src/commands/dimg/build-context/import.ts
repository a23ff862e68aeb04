import {Flags} from '@oclif/core'

import {WorkflowCommand} from '../../../cli/workflow-command.js'
import {describeCommand} from '../../../cli/help-text.js'
import {projectFlags} from '../../../cli/flags.js'
import {importBuildContext, type ImportResult} from '../../../workflows/build-context.js'

export default class BuildContextImport extends WorkflowCommand<ImportResult> {
  static summary = 'Load images.tar and build.tar (from build-context export) into the local store and build directory.'
  static description = describeCommand('Every blob is verified against its digest; what the store has is not copied again; a truncated or corrupt archive is refused and leaves the store as it was.')
  static examples = ['<%= config.bin %> dimg build-context import --build-context-directory /cache', '<%= config.bin %> dimg build-context import --dir ./app --json']
  static flags = {
    dir: projectFlags.dir,
    'build-context-directory': Flags.string({description: 'Where images.tar and build.tar are read from.', default: '.'}),
  }

  async run(): Promise<ImportResult> {
    const {flags} = await this.parse(BuildContextImport)
    const result = await importBuildContext(this.context(flags), {dir: flags.dir, directory: flags['build-context-directory']})
    this.log(`${result.images.file}: ${result.images.stages.length} stages (${result.images.blobsWritten} blobs written, ${result.images.blobsSkipped} already there)`)
    this.log(`${result.build.file}: ${result.build.entries} entries`)
    return result
  }
}
