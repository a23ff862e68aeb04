import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {contextFromFlags} from '../../cli/context.js'
import {jsonFlag, registryFlags} from '../../cli/flags.js'
import {parseImageRef, formatRef} from '../../oci/ref.js'
import {pullImageToStore} from '../../workflows/store-images.js'

export default class ImagePull extends BaseCommand {
  static summary = 'Copy an image from a registry into the local store.'
  static description = describeCommand('Every blob is verified against its digest; blobs the store has are not downloaded again. An image index is copied whole.')
  static examples = ['<%= config.bin %> image pull localhost:5000/base/busybox:latest', '<%= config.bin %> image pull registry.example/app@sha256:… --name app']
  static args = {ref: Args.string({description: 'Image reference, host[:port]/path[:tag][@digest], e.g. localhost:5000/app:1.0.', required: true})}
  static flags = {
    name: Flags.string({description: 'Name in the local store (default: the full reference).'}),
    ...registryFlags,
    ...jsonFlag,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ImagePull)
    const ref = parseImageRef(args.ref)
    const ctx = contextFromFlags(flags, ref.registry)
    try {
      const result = await pullImageToStore(ctx, ref, flags.name ?? formatRef(ref))
      if (flags.json) this.printJson(result)
      else for (const img of result.images) this.log(`${img.name} ${img.digest}`)
    } finally {
      await ctx.close()
    }
  }
}
