import {BaseCommand} from '../../cli/base-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {jsonFlag} from '../../cli/flags.js'
import {SlipwayError} from '../../errors.js'
import {WorkflowContext} from '../../workflows/context.js'
import {verifyStore} from '../../workflows/store-images.js'

export default class StoreVerify extends BaseCommand {
  static summary = 'Re-hash every blob of the local store and check every referenced blob is there.'
  static description = describeCommand('Exits 8 when a blob is corrupt or missing. Leftover temporary files of killed writers are listed but are not errors; `store gc` removes them.')
  static examples = ['<%= config.bin %> store verify', '<%= config.bin %> store verify --json']
  static flags = {...jsonFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(StoreVerify)
    const report = await verifyStore(new WorkflowContext())
    if (flags.json) this.printJson(report)
    else {
      this.log(`checked ${report.checked} blobs: ${report.corrupt.length} corrupt, ${report.missing.length} missing, ${report.orphanTemp.length} leftover temporary files`)
      for (const c of report.corrupt) this.log(`corrupt ${c.digest}: ${c.detail}`)
      for (const m of report.missing) this.log(`missing ${m.digest} (referenced by ${m.referencedBy})`)
    }
    if (!report.ok) {
      throw new SlipwayError('integrity', report.indexError ?? 'the local store has corrupt or missing blobs', {
        hint: 'delete the affected images (or the store) and pull or build them again',
      })
    }
  }
}
