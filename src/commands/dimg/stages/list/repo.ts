import {WorkflowCommand} from '../../../../cli/workflow-command.js'
import {describeCommand} from '../../../../cli/help-text.js'
import {repoArg, repoOrEnv} from '../../../../cli/args.js'
import {projectFlags, registryFlags, wideFlag} from '../../../../cli/flags.js'
import {stagesTable} from '../../../../cli/stages-output.js'
import {tableWidth} from '../../../../cli/table.js'
import {parseRepository} from '../../../../oci/ref.js'
import type {StageRow} from '../../../../cache/index.js'
import {listStages} from '../../../../workflows/list-stages.js'

export default class StagesListRepo extends WorkflowCommand<StageRow[]> {
  static summary = "List the project's stages in REPO (REPO:dimgstage-* tags) and the final images that use them."
  static description = describeCommand('Only the tags of this project (its dappfile, at its current commit or not) are listed; REPO may hold other projects.')
  static examples = ['<%= config.bin %> dimg stages list repo localhost:5000/myproject', '<%= config.bin %> dimg stages list repo localhost:5000/myproject --json']
  static args = {repo: repoArg}
  static flags = {...projectFlags, ...registryFlags, ...wideFlag}

  async run(): Promise<StageRow[]> {
    const {args, flags} = await this.parse(StagesListRepo)
    const repo = parseRepository(repoOrEnv(args.repo, 'dimg stages list repo'))
    const rows = await listStages(this.context(flags, repo.registry), 'repo', {dir: flags.dir, repo})
    this.log(stagesTable(rows, tableWidth(flags.wide)))
    return rows
  }
}
