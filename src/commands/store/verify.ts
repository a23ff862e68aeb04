import {WorkflowCommand} from '../../cli/workflow-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {SlipwayError} from '../../errors.js'
import {verifyStore, type VerifyReport} from '../../workflows/store-images.js'

export default class StoreVerify extends WorkflowCommand<VerifyReport> {
  static summary = 'Re-hash every blob of the local store and check every referenced blob is there.'
  static description = describeCommand('Exits 8 when a blob is corrupt or missing. Leftover temporary files of killed writers are listed but are not errors; `store gc` removes them.')
  static examples = ['<%= config.bin %> store verify', '<%= config.bin %> store verify --json']
  static flags = {}

  async run(): Promise<VerifyReport> {
    const {flags} = await this.parse(StoreVerify)
    const report = await verifyStore(this.context(flags))
    this.log(`checked ${report.checked} blobs: ${report.corrupt.length} corrupt, ${report.missing.length} missing, ${report.orphanTemp.length} leftover temporary files`)
    for (const c of report.corrupt) this.log(`corrupt ${c.digest}: ${c.detail}`)
    for (const m of report.missing) this.log(`missing ${m.digest} (referenced by ${m.referencedBy})`)
    if (report.ok) return report
    return this.failWith(report, new SlipwayError('integrity', report.indexError ?? 'the local store has corrupt or missing blobs', {
      hint: 'delete the affected images (or the store) and pull or build them again',
    }))
  }
}
