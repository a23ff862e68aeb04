import {createHash} from 'node:crypto'
import {chmod, mkdir, mkdtemp} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/**
 * Where builds and runs unpack root filesystems. Not under SLIPWAY_HOME: a stage that runs as a non-root
 * USER runs with that uid, and it must be able to reach its root, which a private home (/root, a 0700
 * SLIPWAY_HOME) would forbid. Directories here are 0711: others may pass through, not look around.
 * One scratch area per SLIPWAY_HOME, so `dimg cleanup` finds exactly its own leftovers.
 */
export const SCRATCH_PREFIX = 'build-'

export function scratchBase(home: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.SLIPWAY_TMPDIR || tmpdir()
  const id = createHash('sha256').update(home).digest('hex').slice(0, 12)
  return join(base, `slipway-${process.getuid?.() ?? 0}-${id}`)
}

/** A new directory `build-<pid>-<kind>-XXXXXX` in the scratch area. */
export async function makeScratchDir(home: string, kind: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const base = scratchBase(home, env)
  await mkdir(base, {recursive: true, mode: 0o711})
  await chmod(base, 0o711)
  const dir = await mkdtemp(join(base, `${SCRATCH_PREFIX}${process.pid}-${kind}-`))
  await chmod(dir, 0o711)
  return dir
}
