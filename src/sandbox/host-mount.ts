import {mkdir, realpath} from 'node:fs/promises'
import {homedir} from 'node:os'
import {isAbsolute, join, resolve} from 'node:path'

import {SlipwayError} from '../errors.js'

/** A host directory no stage may see, or see a parent of: slipway's home (the store), the stage roots. */
export interface GuardedDir {
  path: string
  /** What it is, for the error: "SLIPWAY_HOME (the stages cache)". */
  what: string
}

/**
 * The host directory a `mount: fromPath` names, bind-mounted read-write into shell stages as dapp and werf
 * mount it: `~/` is the user's home, a relative path is relative to the project directory (werf), and a
 * missing directory is created (as werf does). Links are resolved before it is checked: a path that is, holds
 * or lies inside a guarded directory is refused, since the stage could then change the stages cache or the
 * roots of other stages (`/` holds them all).
 */
export async function hostMountDir(fromPath: string, projectDir: string, guarded: readonly GuardedDir[]): Promise<string> {
  const expanded = fromPath === '~' || fromPath.startsWith('~/') ? join(homedir(), fromPath.slice(1)) : fromPath
  const wanted = isAbsolute(expanded) ? resolve(expanded) : resolve(projectDir, expanded)
  refuseGuarded(fromPath, wanted, guarded)
  await mkdir(wanted, {recursive: true})
  const real = await realpath(wanted)
  refuseGuarded(fromPath, real, await Promise.all(guarded.map(async g => ({...g, path: await realpath(g.path).catch(() => resolve(g.path))}))))
  return real
}

function refuseGuarded(fromPath: string, dir: string, guarded: readonly GuardedDir[]): void {
  for (const g of guarded) {
    const overlaps = dir === g.path || dir === '/' || g.path.startsWith(`${dir}/`) || dir.startsWith(`${g.path}/`)
    if (!overlaps) continue
    const shown = dir === fromPath ? `"${fromPath}"` : `"${fromPath}" (${dir})`
    throw new SlipwayError('config', `mount fromPath ${shown} would give shell stages ${g.what} (${g.path}) to change`, {
      hint: 'mount a directory of its own, outside SLIPWAY_HOME and the scratch directory',
    })
  }
}
