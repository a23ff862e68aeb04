import {Args, Flags} from '@oclif/core'

import {WorkflowCommand} from '../../cli/workflow-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {registryFlags} from '../../cli/flags.js'
import {parseImageRef, formatRef} from '../../oci/ref.js'
import {pullImageToStore, type PullResult} from '../../workflows/store-images.js'

export default class ImagePull extends WorkflowCommand<PullResult> {
  static summary = 'Copy an image from a registry into the local store.'
  static description = describeCommand('Every blob is verified against its digest; blobs the store has are not downloaded again. An image index is copied whole.')
  static examples = ['<%= config.bin %> image pull localhost:5000/base/busybox:latest', '<%= config.bin %> image pull registry.example/app@sha256:… --name app']
  static args = {ref: Args.string({description: 'Image reference, host[:port]/path[:tag][@digest], e.g. localhost:5000/app:1.0.', required: true})}
  static flags = {
    name: Flags.string({description: 'Name in the local store (default: the full reference).'}),
    ...registryFlags,
  }

  async run(): Promise<PullResult> {
    const {args, flags} = await this.parse(ImagePull)
    const ref = parseImageRef(args.ref)
    const result = await pullImageToStore(this.context(flags, ref.registry), ref, flags.name ?? formatRef(ref))
    for (const img of result.images) this.log(`${img.name} ${img.digest}`)
    return result
  }
}
