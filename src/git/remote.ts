import {createHash} from 'node:crypto'
import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'

import {SlipwayError} from '../errors.js'
import {redactSecrets, registerSecret, urlWithoutCredentials as publicUrl} from '../redact.js'
import {StoreLock} from '../store/lock.js'
import {GitCommandError, objectExists, runGit} from './git.js'

/**
 * Remote repositories of git mappings (`url:` with `branch`, `tag` or `commit`), kept as bare clones under
 * `$SLIPWAY_HOME/git/<sha256 of the url>` and fetched incrementally: only the ref the mapping names (a commit
 * already there is not fetched at all). One process at a time per clone (a lock beside it). The URL is
 * passed to git on each fetch and never written into the clone's config, and credentials in it are
 * registered as secrets, so no message or log shows them.
 */

export interface RemoteRef {
  url: string
  branch?: string
  tag?: string
  commit?: string
}

export interface RemoteCommit {
  /** The bare clone the commit's trees and blobs are read from. */
  dir: string
  commit: string
}

export function remoteCacheDir(home: string, url: string): string {
  return join(home, 'git', createHash('sha256').update(url).digest('hex').slice(0, 32))
}

/** What the mapping names, as git's fetch refspec and the ref it lands on. */
function refOf(r: RemoteRef): {refspec: string; local: string; what: string} {
  if (r.branch !== undefined) return {refspec: `+refs/heads/${r.branch}:refs/heads/${r.branch}`, local: `refs/heads/${r.branch}`, what: `branch "${r.branch}"`}
  if (r.tag !== undefined) return {refspec: `+refs/tags/${r.tag}:refs/tags/${r.tag}`, local: `refs/tags/${r.tag}`, what: `tag "${r.tag}"`}
  return {refspec: '+HEAD:refs/slipway/HEAD', local: 'refs/slipway/HEAD', what: 'HEAD'}
}

const GIT_ENV = {GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', SSH_ASKPASS: 'true'}

/** The commit a remote mapping resolves to now, fetched into its cache clone. */
export async function resolveRemote(home: string, r: RemoteRef): Promise<RemoteCommit> {
  const password = /^[a-z][a-z0-9+.-]*:\/\/[^/@:]*:([^/@]*)@/i.exec(r.url)?.[1]
  if (password !== undefined) registerSecret(decodeURIComponent(password))
  const dir = remoteCacheDir(home, r.url)
  await mkdir(join(home, 'git'), {recursive: true})
  const lock = new StoreLock(`${dir}.lock`, join(home, 'git'))
  return lock.run(async () => {
    await runGit(join(home, 'git'), ['init', '--quiet', '--bare', dir])
    const git = (args: string[]): Promise<string> => runGit(dir, args, {env: GIT_ENV}).catch(e => failed(e, r))
    if (r.commit !== undefined) {
      if (!(await hasCommit(dir, r.commit))) await git(['fetch', '--quiet', '--no-tags', r.url, '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'])
      if (!(await hasCommit(dir, r.commit))) {
        throw new SlipwayError('not-found', `git ${publicUrl(r.url)} has no commit ${r.commit}`, {hint: 'check the "commit" of the git mapping (a full or abbreviated id of a commit on a branch or tag)'})
      }
      return {dir, commit: (await git(['rev-parse', '--verify', `${r.commit}^{commit}`])).trim()}
    }
    const ref = refOf(r)
    await git(['fetch', '--quiet', '--no-tags', r.url, ref.refspec])
    return {dir, commit: (await git(['rev-parse', '--verify', `${ref.local}^{commit}`])).trim()}
  })
}

function hasCommit(dir: string, commit: string): Promise<boolean> {
  return objectExists(dir, `${commit}^{commit}`)
}

function failed(e: unknown, r: RemoteRef): never {
  if (!(e instanceof GitCommandError)) throw e
  const said = redactSecrets(e.stderr.trim().split('\n').filter(Boolean).at(-1) ?? '').replace(r.url, publicUrl(r.url))
  const {what} = refOf(r)
  throw new SlipwayError('not-found', `cannot fetch ${r.commit === undefined ? what : 'the branches and tags'} of git ${publicUrl(r.url)}: ${said}`, {
    hint: 'check the url and that the branch or tag exists; credentials go in the url or in git credential helpers',
  })
}
