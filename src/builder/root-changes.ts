import {type Change, type LayerBlob, writeLayer} from '../layer/index.js'
import {appendLayer, type Image} from '../image/index.js'
import type {HistoryEntry} from '../oci/types.js'
import {SlipwayError} from '../errors.js'
import {timed} from '../timings.js'
import type {BuildServices, StageWork} from './builder.js'
import {storeLayer} from './layers.js'

/** What the stage changed in its root since it started. */
export type RootChanges = () => Promise<Change[]>

/** For a stage that changes its parent's files in place: the parent, its root, and its changes from now on. */
export async function parentFiles(work: StageWork): Promise<{parent: Image; root: string; changes: RootChanges}> {
  const parent = work.parent
  if (!parent) throw new SlipwayError('internal', `stage ${work.stage.name} has no parent image`)
  const name = work.stage.name
  const root = await timed(`${name} root`, () => work.parentRoot())
  const changes = await timed(`${name} track`, () => root.track())
  return {parent, root: root.path, changes: () => timed(`${name} changes`, changes)}
}

/** The layer of what changed in `root` (none when nothing did), appended to the image. */
export async function layerFromChanges(services: BuildServices, id: string, image: Image, root: string, changed: RootChanges, history: HistoryEntry): Promise<{image: Image; layer?: LayerBlob}> {
  services.phase(id, 'finding changes')
  const changes = await changed()
  if (changes.length === 0) return {image: appendLayer(image, undefined, history)}
  services.phase(id, services.compression === 'gzip' ? 'writing layer, compressing' : 'writing layer')
  const write = (): Promise<LayerBlob> => storeLayer(services.store, services.lease, writeLayer(root, changes, {mtimeClamp: services.mtimeClamp, compression: services.compression, hostIds: rootlessIds()}), services.signal)
  const layer = await timed(`layer of ${changes.length} changes`, write)
  return {image: appendLayer(image, layer, history), layer}
}

/** Unprivileged builds map root in the sandbox to our own ids; a root build needs no mapping. */
function rootlessIds(): {uid: number; gid: number} | undefined {
  const uid = process.getuid?.()
  const gid = process.getgid?.()
  return uid === undefined || gid === undefined || uid === 0 ? undefined : {uid, gid}
}
