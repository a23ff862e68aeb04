import {gitArchiveLayer, gitPatchChanges, gitPatchLayer} from '../layer/index.js'
import {SlipwayError} from '../errors.js'
import {appendLayer, type Image} from '../image/index.js'
import type {StageBuilder, StageWork} from './builder.js'
import {storeLayer} from './layers.js'
import {accountsInLayers, mappingsWithIds} from './owners.js'

function parentOf(work: StageWork): Image {
  if (!work.parent) throw new SlipwayError('internal', `stage ${work.stage.name} has no parent image`)
  return work.parent
}

/**
 * `gitArchive`: the mapped files of the commit, read from git. Of the parent, only /etc/passwd and
 * /etc/group are read, from its layers, for owner/group names no earlier stage recorded ids for.
 */
export const gitArchiveBuilder: StageBuilder<'gitArchive'> = {
  kind: 'gitArchive',
  needsParentFiles: () => false,
  build: async (services, work, inputs) => {
    const parent = parentOf(work)
    const {mappings, ownerIds} = await mappingsWithIds(inputs.mappings, parent, accountsInLayers(parent, async () => (await work.parentRoot()).path, services.signal))
    services.phase(work.id, 'writing layer')
    const layer = await storeLayer(
      services.store,
      services.lease,
      await gitArchiveLayer({repoDir: services.gitRoot(inputs.revision), commit: inputs.revision.contentRef, mappings, mtime: services.mtimeClamp, compression: services.compression}),
    )
    const history = {created: new Date().toISOString(), created_by: `slipway ${work.stage.name}`}
    return {image: appendLayer(parent, layer, history), layer, rootIsBuilt: false, ownerIds}
  },
}

/**
 * `gitLatestPatch`: the diff between the commit the parent recorded and the current one, from git (deleted
 * files as whiteouts); the parent's files are not read (owner ids come from the stage that mapped them, else
 * from the layers holding /etc/passwd and /etc/group).
 */
export const gitPatchBuilder: StageBuilder<'gitLatestPatch'> = {
  kind: 'gitLatestPatch',
  needsParentFiles: () => false,
  build: async (services, work, inputs) => {
    const parent = parentOf(work)
    const {mappings, ownerIds} = await mappingsWithIds(inputs.mappings, parent, accountsInLayers(parent, async () => (await work.parentRoot()).path, services.signal))
    const repoDir = services.gitRoot(inputs.revision)
    const patch = await gitPatchChanges({repoDir, fromCommit: inputs.fromCommit, toCommit: inputs.revision.contentRef, mappings})
    services.phase(work.id, 'writing layer')
    const layer = await storeLayer(services.store, services.lease, await gitPatchLayer(patch, {repoDir, mappings, mtime: services.mtimeClamp, compression: services.compression}), services.signal)
    const history = {created: new Date().toISOString(), created_by: `slipway ${work.stage.name}`}
    return {image: appendLayer(parent, layer, history), layer, rootIsBuilt: false, ownerIds}
  },
}
