import {applyDockerInstructions} from '../image/docker-instructions.js'
import {appendLayer, withContainerConfig} from '../image/index.js'
import {SlipwayError} from '../errors.js'
import type {StageBuilder} from './builder.js'

/** `docker`: config only (an empty history entry); the parent's layers are never read. */
export const dockerBuilder: StageBuilder<'docker'> = {
  kind: 'docker',
  needsParentFiles: () => false,
  build: async (_services, work, inputs) => {
    if (!work.parent) throw new SlipwayError('internal', `stage ${work.stage.name} has no parent image`)
    const history = {created: new Date().toISOString(), created_by: `slipway ${work.stage.name}`}
    return {image: appendLayer(withContainerConfig(work.parent, c => applyDockerInstructions(c, inputs.instructions)), undefined, history), rootIsBuilt: false}
  },
}
