import {extractLayer, gitPatchChanges, gitPatchLayer} from '../layer/index.js'
import {runStage} from '../sandbox/index.js'
import type {GitMapping} from '../config/types.js'
import type {Image} from '../image/index.js'
import type {GitRevision} from '../stage/stage-plan.js'
import {LABEL} from '../naming/index.js'
import {timed} from '../timings.js'
import type {BuildServices, StageBuilder} from './builder.js'
import {consumeLayer} from './layers.js'
import {accountsInRoot, mappingsWithIds} from './owners.js'
import {layerFromChanges, parentFiles} from './root-changes.js'

/** A user stage (install, beforeSetup, setup…): its commands run in the parent's unpacked root. */
export const shellBuilder: StageBuilder<'shell'> = {
  kind: 'shell',
  needsParentFiles: () => true,
  build: async (services, work, inputs) => {
    const {parent, root, changes} = await parentFiles(work)
    if (inputs.git) await bringGitFilesUpToDate(services, parent, root, inputs.git.mappings, inputs.git.revision)
    const config = parent.config.config ?? {}
    const mounts = await services.mounts(work.dimgName, inputs.mounts)
    services.phase(work.id, 'running')
    await timed(`${work.stage.name} command`, () => runStage({
      root,
      commands: inputs.commands,
      env: config.Env,
      user: config.User,
      workingDir: config.WorkingDir,
      mounts,
      isolation: services.isolation,
      onOutput: line => services.output(work.id, line),
      signal: services.signal,
    }))
    const history = {created: new Date().toISOString(), created_by: `/bin/sh -ec ${JSON.stringify(inputs.commands.join('\n'))}`}
    return {...(await layerFromChanges(services, work.id, parent, root, changes, history)), rootIsBuilt: true}
  },
}

/** Before a rebuilt user stage: the mapped files brought from the commit the parent recorded to the current one. */
async function bringGitFilesUpToDate(services: BuildServices, image: Image, root: string, gitMappings: GitMapping[], revision: GitRevision): Promise<void> {
  const target = revision.contentRef
  const recorded = image.config.config?.Labels?.[LABEL.gitContentRef]
  if (!recorded || recorded === target) return
  const {mappings} = await mappingsWithIds(gitMappings, image, accountsInRoot(root))
  const repoDir = services.gitRoot(revision)
  const patch = await gitPatchChanges({repoDir, fromCommit: recorded, toCommit: target, mappings})
  if (patch.empty) return
  const layer = await gitPatchLayer(patch, {repoDir, mappings, mtime: services.mtimeClamp, compression: 'none'})
  await consumeLayer(extractLayer(layer.stream, root, {label: 'git patch', signal: services.signal}), layer.done)
}
