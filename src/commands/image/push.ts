import {Args} from '@oclif/core'

import {WorkflowCommand} from '../../cli/workflow-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {registryFlags} from '../../cli/flags.js'
import {parseImageRef} from '../../oci/ref.js'
import {pushStoredImage, type PushResult} from '../../workflows/store-images.js'

export default class ImagePush extends WorkflowCommand<PushResult> {
  static summary = 'Copy an image from the local store to a registry.'
  static description = describeCommand('Blobs the registry has are not sent again.')
  static examples = ['<%= config.bin %> image push dimgstage-myapp:3f2a… localhost:5000/myapp:debug', '<%= config.bin %> image push app localhost:5000/app:1.0 --json']
  static args = {
    name: Args.string({description: 'Name of the image in the local store (see `image list`).', required: true}),
    ref: Args.string({description: 'Target reference, host[:port]/path[:tag], e.g. localhost:5000/app:1.0.', required: true}),
  }
  static flags = {...registryFlags}

  async run(): Promise<PushResult> {
    const {args, flags} = await this.parse(ImagePush)
    const ref = parseImageRef(args.ref)
    const result = await pushStoredImage(this.context(flags, ref.registry), args.name, ref)
    for (const img of result.images) this.log(`${img.ref} ${img.digest}`)
    return result
  }
}
