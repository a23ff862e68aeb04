import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {chmod, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/**
 * Removes every temp dir made here once this process is gone, however it ends: a detached shell reads
 * the dirs from a pipe and deletes them at EOF, which comes when our end closes (also on SIGKILL, and
 * also under jest, whose sandboxed `process` never delivers 'exit' to a test module).
 */
let sweeper: ChildProcess | undefined

function registerForSweep(dir: string): void {
  if (!sweeper) {
    const script = 'while IFS= read -r d; do set -- "$@" "$d"; done; rm -rf -- "$@"'
    sweeper = spawn('/bin/sh', ['-c', script, 'tmp-sweeper'], {stdio: ['pipe', 'ignore', 'ignore'], detached: true})
    sweeper.unref()
    ;(sweeper.stdin as unknown as {unref?: () => void}).unref?.()
  }
  sweeper.stdin?.write(`${dir}\n`)
}

/** A fresh directory under the OS temp dir, e.g. /tmp/slipway-registry-Ab12Cd, gone at the latest when the process ends. */
export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `slipway-${prefix}-`))
  registerForSweep(dir)
  return dir
}

/** makeTempDir for where a test cannot wait (constructors, synchronous setup). */
export function makeTempDirSync(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `slipway-${prefix}-`))
  registerForSweep(dir)
  return dir
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, {recursive: true, force: true})
}

/**
 * A temp dir for a describe block or file: made before all its tests (or before each, with `each`), removed
 * after; `mode` for dirs other users must reach. Declare it before the hooks that use it; read `path` in
 * hooks and tests.
 */
export function useTempDir(prefix: string, opts: {each?: boolean; mode?: number} = {}): {readonly path: string} {
  const dir = {path: ''}
  ;(opts.each ? beforeEach : beforeAll)(async () => {
    dir.path = await makeTempDir(prefix)
    if (opts.mode !== undefined) await chmod(dir.path, opts.mode)
  })
  ;(opts.each ? afterEach : afterAll)(async () => {
    if (dir.path) await removeTempDir(dir.path)
  })
  return dir
}
