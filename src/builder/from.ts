import type {StageBuilder} from './builder.js'

/** `from`: the base image as it is (normalized to OCI); nothing is unpacked. */
export const fromBuilder: StageBuilder<'from'> = {
  kind: 'from',
  needsParentFiles: () => false,
  build: async (services, work, inputs) => {
    services.phase(work.id, 'pulling base image')
    return {image: await services.baseImage(inputs), rootIsBuilt: false}
  },
}
