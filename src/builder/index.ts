/** One builder per stage kind, each saying whether it needs its parent's files. */
import type {StageInputs} from '../stage/stage-plan.js'
import type {StageBuilder} from './builder.js'
import {dockerBuilder} from './docker.js'
import {fromBuilder} from './from.js'
import {gitArchiveBuilder, gitPatchBuilder} from './git-layers.js'
import {importsBuilder} from './imports.js'
import {shellBuilder} from './shell.js'

export type {BuildServices, StageBuilder, StageBuilt, StageRoot, StageWork} from './builder.js'
export {consumeLayer, extractImage, extractLayers, storeLayer} from './layers.js'
export {needsUserLookup, type OwnerIds, recordedOwnerIds} from './owners.js'

const BUILDERS: {[K in StageInputs['kind']]: StageBuilder<K>} = {
  from: fromBuilder,
  docker: dockerBuilder,
  gitArchive: gitArchiveBuilder,
  gitLatestPatch: gitPatchBuilder,
  shell: shellBuilder,
  imports: importsBuilder,
}

export function builderFor<K extends StageInputs['kind']>(kind: K): StageBuilder<K> {
  return BUILDERS[kind]
}

/** Whether building a stage with these inputs reads its parent's unpacked files. */
export function needsParentFiles(inputs: StageInputs): boolean {
  return (builderFor(inputs.kind) as StageBuilder).needsParentFiles(inputs as never)
}
