/**
 * The user namespace of a root build's stage: every id maps to itself, so a stage can chown to any uid/gid
 * and the files keep those owners on disk, while its capabilities count only inside the namespace (no
 * mount, no device nodes, no host sysctls). bwrap can map one id only, and newuidmap refuses a full map
 * without /etc/subuid entries, so the privileged parent (us) writes the maps while bwrap waits on
 * `--userns-block-fd`, as newuidmap would.
 */
import {spawn} from 'node:child_process'
import {readFile, writeFile} from 'node:fs/promises'
import type {Readable, Writable} from 'node:stream'

import {SlipwayError} from '../errors.js'

/** inner first id, outer first id, count: all of them (4294967295 is the invalid id -1). */
const IDENTITY_MAP = '0 0 4294967295\n'

/** Where bwrap reports its child (`--info-fd`) and where it waits for us (`--userns-block-fd`). */
export const INFO_FD = 3
export const BLOCK_FD = 4

export function userNamespaceArgs(): string[] {
  return ['--unshare-user', '--info-fd', String(INFO_FD), '--userns-block-fd', String(BLOCK_FD)]
}

/** null when bwrap closed the fd without starting a child: it failed, and says why on stderr. Read to
 *  the end: bwrap writes the report in pieces and dies of SIGPIPE if we stop listening after the first. */
async function readChildPid(info: Readable): Promise<number | null> {
  let text = ''
  for await (const chunk of info) text += String(chunk)
  const m = /"child-pid":\s*(\d+)/.exec(text)
  return m ? Number(m[1]) : null
}

/**
 * Stops the namespace's root from making user namespaces of its own (docker's seccomp profile refuses
 * them too): in a nested one it would hold every capability again, and could mount there. The limit is
 * per user namespace and can only be set from inside, so a process joins it for one write.
 */
function forbidNestedUserNamespaces(pid: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', ['--target', String(pid), '--user', '--', '/bin/sh', '-c', 'echo 0 > /proc/sys/user/max_user_namespaces'], {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', e => reject(new SlipwayError('environment', `cannot run nsenter (util-linux) to set up the stage's user namespace: ${e.message}`, {hint: 'install util-linux'})))
    child.on('close', code => (code === 0 ? resolve() : reject(new SlipwayError('environment', `cannot limit the stage's user namespace: ${stderr.trim() || `nsenter exited ${code}`}`))))
  })
}

/** Maps every id to itself in the user namespace of the bwrap child reporting on `info`, then lets it go
 *  on; calls `started` with the child's pid first. */
export async function setUpIdentityUserNamespace(info: Readable, block: Writable, started: (pid: number) => void): Promise<void> {
  const pid = await readChildPid(info)
  if (pid === null) return
  started(pid)
  try {
    await writeFile(`/proc/${pid}/uid_map`, IDENTITY_MAP)
    await writeFile(`/proc/${pid}/gid_map`, IDENTITY_MAP)
  } catch (e) {
    throw new SlipwayError('environment', `cannot map the ids of the stage's user namespace: ${(e as Error).message}`, {cause: e})
  }
  await forbidNestedUserNamespaces(pid)
  block.end('1')
}

/**
 * Until bwrap lets its child go on, the child has no parent-death signal: if bwrap is killed during the
 * handshake (an abort), the child waits forever, holding our pipes. Kill it if it is still that child.
 */
export async function killWaitingChild(pid: number): Promise<void> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  if (/^Name:\s*bwrap$/m.test(status) && /^NSpid:\s*\d+\s+1$/m.test(status)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone meanwhile
    }
  }
}
