import {SlipwayError} from '../errors.js'
import type {DappConfig, DimgConfig} from './types.js'

/**
 * Keys the config reads but the stage planner does not build yet (the build side of issue 17 adds them):
 * refused when a project is loaded, naming the key, rather than planned as if they were not there.
 */
export function refuseUnplannedKeys(config: DappConfig): void {
  for (const dimg of config.dimgs) {
    const key = unplannedKey(dimg)
    if (key === undefined) continue
    const label = dimg.name === null ? 'the dimg' : `${dimg.isArtifact ? 'artifact' : 'dimg'} "${dimg.name}"`
    throw new SlipwayError('config', `${label}: ${key} is not supported yet`)
  }
}

function unplannedKey(d: DimgConfig): string | undefined {
  if (d.fromDimg) return d.fromDimg.isArtifact ? 'building on an artifact (fromDimgArtifact, fromImageArtifact, fromArtifact)' : 'building on another image (fromDimg, fromImage)'
  if (d.imports.some((i) => i.fromImage)) return 'importing from an image (import: image)'
  if (d.imports.some((i) => i.stage !== undefined)) return 'importing from a chosen stage (import: stage)'
  if (d.mounts.some((m) => m.from === 'path')) return 'mounting a host path (mount: fromPath)'
  if (d.git.some((g) => g.remote)) return 'a remote git repository (git: url)'
  if (d.shell.buildArtifact !== undefined || d.shell.buildArtifactCacheVersion !== undefined) return 'the buildArtifact stage'
  return undefined
}
