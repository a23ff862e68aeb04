/** The one extended attribute layers carry, `security.capability` (file capabilities such as ping's
 *  cap_net_raw). Node has no xattr API, so this goes through `getfattr`/`setfattr` (Debian package `attr`).
 *  Without them capabilities are skipped, with a debug note: layers stay valid, files just lose their caps. */
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'

import {nameFromBytes} from '../oci/file-names.js'

const run = promisify(execFile)
export const CAPABILITY_XATTR = 'security.capability'
/**
 * Paths per getfattr run: as many as fit in 256 KiB of arguments (well under ARG_MAX's 2 MiB), two runs at
 * a time. Each run is a process start, 20-50 ms on a loaded host: 400 paths a run cost 0.3-0.6 s of a
 * 5,000-file layer.
 */
const BATCH_BYTES = 256 * 1024
const BATCHES_AT_ONCE = 2

/** The paths cut into runs of at most BATCH_BYTES of argument bytes each. */
function argumentBatches(paths: string[]): string[][] {
  const batches: string[][] = []
  let batch: string[] = []
  let bytes = 0
  for (const p of paths) {
    const size = Buffer.byteLength(p) + 1
    if (batch.length > 0 && bytes + size > BATCH_BYTES) {
      batches.push(batch)
      batch = []
      bytes = 0
    }
    batch.push(p)
    bytes += size
  }
  if (batch.length > 0) batches.push(batch)
  return batches
}

let available: Promise<boolean> | undefined

export function xattrToolsAvailable(): Promise<boolean> {
  available ??= run('getfattr', ['--version']).then(
    () => run('setfattr', ['--version']).then(() => true, () => false),
    () => false,
  )
  return available
}

/** getfattr escapes unusual bytes in file names as `\ooo`; the name as oci/file-names.ts carries it. */
export function unescapeName(s: string): string {
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      bytes.push(parseInt(s.slice(i + 1, i + 4), 8))
      i += 3
    } else {
      bytes.push(...Buffer.from(s[i]!))
    }
  }
  return nameFromBytes(Buffer.from(bytes))
}

/** Capabilities of the given files (absolute paths; symlinks are not followed). Files without are absent. */
export async function readCapabilities(paths: string[], log?: (msg: string) => void): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>()
  if (paths.length === 0) return found
  if (!(await xattrToolsAvailable())) {
    log?.('getfattr not found (package attr): security.capability xattrs are not written into layers')
    return found
  }
  const read = async (batch: string[]): Promise<void> => {
    let stdout: string
    try {
      ;({stdout} = await run('getfattr', ['--absolute-names', '-h', '-e', 'hex', '-n', CAPABILITY_XATTR, '--', ...batch], {maxBuffer: 64 << 20}))
    } catch (e) {
      // exit 1 when some files have no such attribute; the rest is still printed
      stdout = (e as {stdout?: string}).stdout ?? ''
    }
    let file: string | undefined
    for (const line of stdout.split('\n')) {
      if (line.startsWith('# file: ')) file = unescapeName(line.slice(8))
      else if (file && line.startsWith(`${CAPABILITY_XATTR}=0x`)) found.set(file, Buffer.from(line.slice(CAPABILITY_XATTR.length + 3), 'hex'))
    }
  }
  const batches = argumentBatches(paths)
  const next = async (): Promise<void> => {
    for (let batch = batches.shift(); batch; batch = batches.shift()) await read(batch)
  }
  await Promise.all(Array.from({length: BATCHES_AT_ONCE}, next))
  return found
}

export async function writeCapability(path: string, value: Buffer, log?: (msg: string) => void): Promise<void> {
  if (!(await xattrToolsAvailable())) {
    log?.(`setfattr not found (package attr): security.capability of ${path} not set`)
    return
  }
  try {
    await run('setfattr', ['-h', '-n', CAPABILITY_XATTR, '-v', `0x${value.toString('hex')}`, '--', path])
  } catch (e) {
    log?.(`could not set security.capability on ${path}: ${(e as {stderr?: string}).stderr?.trim() ?? String(e)}`)
  }
}
