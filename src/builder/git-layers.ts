import type {GitMapping} from '../config/types.js'
import {gitArchiveLayer, gitPatchChanges, gitPatchLayer, type LayerStream, type PathMapping} from '../layer/index.js'
import {SlipwayError} from '../errors.js'
import {appendLayer, type Image} from '../image/index.js'
import type {BuildServices, StageBuilder, StageBuilt, StageWork} from './builder.js'
import {storeLayer} from './layers.js'
import {accountsInLayers, mappingsWithIds} from './owners.js'

function parentOf(work: StageWork): Image {
  if (!work.parent) throw new SlipwayError('internal', `stage ${work.stage.name} has no parent image`)
  return work.parent
}

/**
 * A git stage: the parent with one layer of mapped files written by `layer`, once the mappings know their
 * owner ids (from the stage that mapped them, else from the parent's layers holding /etc/passwd and /etc/group).
 */
async function gitStage(
  services: BuildServices,
  work: StageWork,
  gitMappings: GitMapping[],
  layer: (mappings: PathMapping[]) => Promise<LayerStream>,
  signal?: AbortSignal,
): Promise<StageBuilt> {
  const parent = parentOf(work)
  const {mappings, ownerIds} = await mappingsWithIds(gitMappings, parent, accountsInLayers(parent, async () => (await work.parentRoot()).path, services.signal))
  const stored = await storeLayer(services.store, services.lease, await layer(mappings), signal)
  const history = {created: new Date().toISOString(), created_by: `slipway ${work.stage.name}`}
  return {image: appendLayer(parent, stored, history), layer: stored, rootIsBuilt: false, ownerIds}
}

/** `gitArchive`: the mapped files of the commit, read from git; of the parent only the account files are read. */
export const gitArchiveBuilder: StageBuilder<'gitArchive'> = {
  kind: 'gitArchive',
  needsParentFiles: () => false,
  build: (services, work, inputs) =>
    gitStage(services, work, inputs.mappings, mappings => {
      services.phase(work.id, 'writing layer')
      return gitArchiveLayer({repoDir: services.gitRoot(inputs.revision), commit: inputs.revision.contentRef, mappings, mtime: services.mtimeClamp, compression: services.compression})
    }),
}

/**
 * `gitLatestPatch`: the diff between the commit the parent recorded and the current one, from git (deleted
 * files as whiteouts); the parent's files are not read.
 */
export const gitPatchBuilder: StageBuilder<'gitLatestPatch'> = {
  kind: 'gitLatestPatch',
  needsParentFiles: () => false,
  build: (services, work, inputs) => {
    const repoDir = services.gitRoot(inputs.revision)
    return gitStage(
      services,
      work,
      inputs.mappings,
      async mappings => {
        const patch = await gitPatchChanges({repoDir, fromCommit: inputs.fromCommit, toCommit: inputs.revision.contentRef, mappings})
        services.phase(work.id, 'writing layer')
        return gitPatchLayer(patch, {repoDir, mappings, mtime: services.mtimeClamp, compression: services.compression})
      },
      services.signal,
    )
  },
}
