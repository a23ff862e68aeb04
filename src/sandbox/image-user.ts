/** Resolves an image config `User` (`name`, `uid`, `name:group`, `uid:gid`) against the root's
 *  /etc/passwd and /etc/group, as the Docker runtime does. */
import {lstat, readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {SlipwayError} from '../errors.js'

export interface ImageUser {
  uid: number
  gid: number
  home: string
}

/** An image's /etc/passwd and /etc/group (null: not there as a regular file). */
export interface AccountFiles {
  passwd: string | null
  group: string | null
}

/** Reads a file of the root unless it is missing or a symlink (which could point at the host). */
async function readRootFile(root: string, rel: string): Promise<string | null> {
  const abs = join(root, rel)
  const st = await lstat(abs).catch(() => null)
  if (!st?.isFile()) return null
  return readFile(abs, 'utf8')
}

export async function accountFilesIn(root: string): Promise<AccountFiles> {
  return {passwd: await readRootFile(root, 'etc/passwd'), group: await readRootFile(root, 'etc/group')}
}

const entries = (file: string | null): string[][] => (file ?? '').split('\n').filter(l => l && !l.startsWith('#')).map(l => l.split(':'))

const NUMERIC = /^\d+$/

export async function resolveImageUser(root: string, spec: string | undefined): Promise<ImageUser> {
  return userIn(await accountFilesIn(root), spec)
}

/** The user `spec` names, resolved against the image's account files. */
export function userIn(files: AccountFiles, spec: string | undefined): ImageUser {
  const [userPart, groupPart] = (spec?.trim() || '0').split(':', 2) as [string, string | undefined]
  const passwd = entries(files.passwd)
  const entry = passwd.find(f => (NUMERIC.test(userPart) ? f[2] === userPart : f[0] === userPart))
  if (!entry && !NUMERIC.test(userPart)) {
    throw new SlipwayError('config', `user "${userPart}" is not in the image's /etc/passwd`, {hint: 'create the user in an earlier stage or use a numeric uid'})
  }
  const uid = Number(entry?.[2] ?? userPart)
  let gid = Number(entry?.[3] ?? 0)
  if (groupPart !== undefined && groupPart !== '') {
    if (NUMERIC.test(groupPart)) {
      gid = Number(groupPart)
    } else {
      const group = entries(files.group).find(f => f[0] === groupPart)
      if (!group) throw new SlipwayError('config', `group "${groupPart}" is not in the image's /etc/group`, {hint: 'create the group in an earlier stage or use a numeric gid'})
      gid = Number(group[2])
    }
  }
  return {uid, gid, home: entry?.[5] || (uid === 0 ? '/root' : '/')}
}
