import {BaseCommand} from '../../cli/base-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {jsonFlag} from '../../cli/flags.js'
import {formatBytes} from '../../cli/progress.js'
import {renderTable} from '../../cli/table.js'
import {WorkflowContext} from '../../workflows/context.js'
import {listStoredImages} from '../../workflows/store-images.js'

export default class ImageList extends BaseCommand {
  static summary = 'List the images in the local store.'
  static description = describeCommand('Stages (dimgstage-PROJECT:SIGNATURE) and images copied in with `image pull`, by name.')
  static examples = ['<%= config.bin %> image list', '<%= config.bin %> image list --json']
  static flags = {...jsonFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(ImageList)
    const images = await listStoredImages(new WorkflowContext())
    if (flags.json) return this.printJson(images)
    this.log(renderTable(['NAME', 'DIGEST', 'SIZE'], images.map(i => [i.name, i.digest.slice(0, 19), i.imageSize === undefined ? '-' : formatBytes(i.imageSize)])))
  }
}
