import {Flags} from '@oclif/core'

import {WorkflowCommand} from '../../../../cli/workflow-command.js'
import {describeCommand} from '../../../../cli/help-text.js'
import {projectFlags, registryFlags, wideFlag} from '../../../../cli/flags.js'
import {stagesTable} from '../../../../cli/stages-output.js'
import {tableWidth} from '../../../../cli/table.js'
import {parseRepository} from '../../../../oci/ref.js'
import type {StageRow} from '../../../../cache/index.js'
import {listStages} from '../../../../workflows/list-stages.js'

export default class StagesListLocal extends WorkflowCommand<StageRow[]> {
  static summary = "List the project's stages in the local stages cache."
  static description = describeCommand('With --repo, the USED BY column names the final images in that repository that use each stage.')
  static examples = ['<%= config.bin %> dimg stages list local', '<%= config.bin %> dimg stages list local --repo localhost:5000/myproject --json']
  static flags = {
    ...projectFlags,
    repo: Flags.string({description: 'Registry repository whose final images fill the USED BY column.', env: 'SLIPWAY_REPO', helpValue: 'REPO'}),
    ...registryFlags,
    ...wideFlag,
  }

  async run(): Promise<StageRow[]> {
    const {flags} = await this.parse(StagesListLocal)
    const repo = flags.repo ? parseRepository(flags.repo) : undefined
    const rows = await listStages(this.context(flags, repo?.registry), 'local', {dir: flags.dir, dev: flags.dev, repo})
    this.log(stagesTable(rows, tableWidth(flags.wide)))
    return rows
  }
}
