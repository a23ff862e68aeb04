import {WorkflowCommand} from '../../cli/workflow-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {formatBytes} from '../../cli/progress.js'
import {renderTable} from '../../cli/table.js'
import {listStoredImages, type StoredImage} from '../../workflows/store-images.js'

export default class ImageList extends WorkflowCommand<StoredImage[]> {
  static summary = 'List the images in the local store.'
  static description = describeCommand('Stages (dimgstage-PROJECT:SIGNATURE) and images copied in with `image pull`, by name.')
  static examples = ['<%= config.bin %> image list', '<%= config.bin %> image list --json']
  static flags = {}

  async run(): Promise<StoredImage[]> {
    const {flags} = await this.parse(ImageList)
    const images = await listStoredImages(this.context(flags))
    this.log(renderTable(['NAME', 'DIGEST', 'SIZE'], images.map(i => [i.name, i.digest.slice(0, 19), i.imageSize === undefined ? '-' : formatBytes(i.imageSize)])))
    return images
  }
}
