import {createHash} from 'node:crypto'
import {constants as fsConstants, type Stats} from 'node:fs'
import {chmod, lstat, mkdir, mkdtemp, open, rm, rmdir, stat} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {SlipwayError} from '../errors.js'

/**
 * Where builds and runs unpack root filesystems. Not under SLIPWAY_HOME: a stage that runs as a non-root
 * USER runs with that uid, and it must be able to reach its root, which a private home (/root, a 0700
 * SLIPWAY_HOME) would forbid. Directories here are 0711: others may pass through, not look around.
 * One scratch area per SLIPWAY_HOME, so `dimg cleanup` finds exactly its own leftovers.
 *
 * The area's name can be computed by any local user, so it is trusted only once it is seen, without following
 * links, to be a directory of ours that nobody else can write (as podman and buildah check their run dirs);
 * anything else planted there is refused. Inside it, each run makes its own directory with mkdtemp (O_EXCL).
 */
export const SCRATCH_PREFIX = 'build-'

const SCRATCH_MODE = 0o711

export function scratchBase(home: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.SLIPWAY_TMPDIR || tmpdir()
  const id = createHash('sha256').update(home).digest('hex').slice(0, 12)
  return join(base, `slipway-${process.getuid?.() ?? 0}-${id}`)
}

/** A run's own directory in the scratch area; `remove()` also removes the area when this run emptied it. */
export interface ScratchDir {
  path: string
  remove(): Promise<void>
}

/** A new directory `build-<pid>-<kind>-XXXXXX` in the scratch area. */
export async function makeScratchDir(home: string, kind: string, env: NodeJS.ProcessEnv = process.env): Promise<ScratchDir> {
  await checkTmpdirSetting(env)
  const base = scratchBase(home, env)
  // another run of ours may remove the area as it empties it, between our mkdir, check and mkdtemp: again then
  for (let attempt = 1; ; attempt++) {
    const again = attempt < 20
    if (!(await ensureScratchBase(base)) && again) continue
    let path: string
    try {
      path = await mkdtemp(join(base, `${SCRATCH_PREFIX}${process.pid}-${kind}-`))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && again) continue
      throw e
    }
    // safe through the path: the area is ours and nobody else can write it, so nobody can replace `path`
    await chmod(path, SCRATCH_MODE)
    return {
      path,
      remove: async () => {
        await rm(path, {recursive: true, force: true, maxRetries: 3})
        await removeScratchBaseIfEmpty(base)
      },
    }
  }
}

/**
 * The scratch area if it is there and ours; undefined when it does not exist. Throws the one-line error when
 * something else is planted under its name (for `dimg cleanup`, which must not remove anything through it).
 */
export async function existingScratchBase(home: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  await checkTmpdirSetting(env)
  const base = scratchBase(home, env)
  const fh = await openNoFollow(base)
  if (!fh) return undefined
  try {
    checkOwnDirectory(base, await fh.stat())
  } finally {
    await fh.close()
  }
  return base
}

/** rmdir fails on a directory that is not empty, so a concurrent run's directory (and the area) stays. */
export async function removeScratchBaseIfEmpty(base: string): Promise<void> {
  await rmdir(base).catch(() => {})
}

async function checkTmpdirSetting(env: NodeJS.ProcessEnv): Promise<void> {
  const dir = env.SLIPWAY_TMPDIR
  if (!dir) return
  const st = await stat(dir).catch((e: NodeJS.ErrnoException) => e)
  if (st instanceof Error || !st.isDirectory()) {
    const what = st instanceof Error ? (st.code === 'ENOENT' ? 'does not exist' : `cannot be read (${st.code ?? st.message})`) : 'is not a directory'
    throw new SlipwayError('usage', `SLIPWAY_TMPDIR=${dir} ${what}`, {hint: 'point SLIPWAY_TMPDIR at an existing directory, or unset it to use the system temp directory'})
  }
}

/**
 * Creates the area (0711) or accepts an existing one that passes the checks, fixing its mode through an fd.
 * false when it was gone again before it could be checked.
 */
async function ensureScratchBase(base: string): Promise<boolean> {
  await mkdir(base, {mode: SCRATCH_MODE}).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e
  })
  const fh = await openNoFollow(base)
  if (!fh) return false
  try {
    const st = await fh.stat()
    checkOwnDirectory(base, st)
    // mkdir's mode went through the umask; the fd is the directory checked above, whatever the path is now
    if ((st.mode & 0o7777) !== SCRATCH_MODE) await fh.chmod(SCRATCH_MODE)
  } finally {
    await fh.close()
  }
  return true
}

/** The directory itself, never what a symlink of that name points at; undefined when nothing is there. */
async function openNoFollow(path: string): Promise<Awaited<ReturnType<typeof open>> | undefined> {
  try {
    return await open(path, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    // a symlink fails with ELOOP (O_NOFOLLOW) or ENOTDIR (O_DIRECTORY), anything else not a directory with ENOTDIR
    if (code !== 'ELOOP' && code !== 'ENOTDIR') throw e
    const st = await lstat(path).catch(() => undefined)
    throw plantedError(path, st?.isSymbolicLink() ? 'is a symbolic link' : 'is not a directory')
  }
}

function checkOwnDirectory(path: string, st: Stats): void {
  const uid = process.geteuid?.() ?? 0
  if (!st.isDirectory()) throw plantedError(path, 'is not a directory')
  if (st.uid !== uid) throw plantedError(path, `is owned by uid ${st.uid}, not by this user (uid ${uid})`)
  if ((st.mode & 0o022) !== 0) throw plantedError(path, `is writable by group or others (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`)
}

function plantedError(path: string, what: string): SlipwayError {
  return new SlipwayError('environment', `scratch directory ${path} ${what}; refusing to build in it`, {
    hint: 'remove it if it is not yours to keep (another user may have planted it), or set SLIPWAY_TMPDIR to a directory of your own',
  })
}
