import {execFile} from 'node:child_process'
import {copyFile, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {isAbsolute, join} from 'node:path'

import {SlipwayError} from '../errors.js'

/**
 * The project's git repository, read with the `git` command. Everything here reads; the one exception is
 * `workTreeSnapshot`, which hashes work-tree files into the object database (as `git add` would) through a
 * throw-away index, so that uncommitted content can be addressed as a tree id.
 */

export class GitCommandError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(`git ${args.join(' ')} failed: ${stderr.trim().split('\n')[0] ?? ''}`)
  }
}

export interface GitRunOptions {
  env?: Record<string, string>
}

export function runGit(cwd: string, args: readonly string[], opts: GitRunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...args],
      {cwd, env: {...process.env, LC_ALL: 'C', GIT_OPTIONAL_LOCKS: '0', ...opts.env}, maxBuffer: 512 * 1024 * 1024, encoding: 'utf8'},
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout)
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          return reject(new SlipwayError('environment', 'the git command was not found', {hint: 'install git and make sure it is on PATH'}))
        }
        reject(new GitCommandError(args, stderr, typeof err.code === 'number' ? err.code : null))
      },
    )
  })
}

/** The top-level directory of the work tree `dir` is in, or undefined outside git. */
export async function gitTopLevel(dir: string): Promise<string | undefined> {
  try {
    const out = (await runGit(dir, ['rev-parse', '--show-toplevel'])).trim()
    return out === '' ? undefined : out
  } catch (e) {
    if (e instanceof GitCommandError && /dubious ownership/.test(e.stderr)) {
      // a checkout owned by another user (common on CI runners): git refuses it, and slipway must not
      // silently build as if there were no repository
      throw new SlipwayError('environment', `git refuses the repository at ${dir}: it is owned by another user`, {
        hint: `run \`git config --global --add safe.directory '*'\` (or name the directory) as the user running slipway`,
      })
    }
    if (e instanceof GitCommandError) return undefined
    throw e
  }
}

/** The commit HEAD points at, or undefined in a repository without commits. */
export async function headCommit(root: string): Promise<string | undefined> {
  try {
    return (await runGit(root, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'])).trim() || undefined
  } catch (e) {
    if (e instanceof GitCommandError) return undefined
    throw e
  }
}

export async function remoteOriginUrl(root: string): Promise<string | undefined> {
  try {
    return (await runGit(root, ['config', '--get', 'remote.origin.url'])).trim() || undefined
  } catch (e) {
    if (e instanceof GitCommandError) return undefined
    throw e
  }
}

/** Whether `treeish` (a commit or tree id) exists in the repository. */
export async function treeishExists(root: string, treeish: string): Promise<boolean> {
  try {
    await runGit(root, ['cat-file', '-e', `${treeish}^{tree}`])
    return true
  } catch (e) {
    if (e instanceof GitCommandError) return false
    throw e
  }
}

/** One file (blob, link or submodule) of a tree. */
export interface TreeEntry {
  /** Path from the repository root, `/`-separated, no leading slash. */
  path: string
  /** Octal mode as git prints it: 100644, 100755, 120000, 160000. */
  mode: string
  /** The blob (or submodule commit) id. */
  object: string
}

/** Every file of a tree-ish (commit or tree id), recursively, sorted by path as git sorts. */
export async function listTree(root: string, treeish: string): Promise<TreeEntry[]> {
  const out = await runGit(root, ['ls-tree', '-r', '-z', '--full-tree', treeish])
  const entries: TreeEntry[] = []
  for (const record of out.split('\0')) {
    if (record === '') continue
    const tab = record.indexOf('\t')
    const [mode, , object] = record.slice(0, tab).split(' ')
    entries.push({path: record.slice(tab + 1), mode, object})
  }
  return entries
}

/** One changed path between two tree-ishes (renames are a delete plus an add). */
export interface TreeChange {
  path: string
  /** A added, D deleted, M modified, T type changed. */
  status: string
  oldMode: string
  newMode: string
  oldObject: string
  newObject: string
}

export async function diffTrees(root: string, from: string, to: string): Promise<TreeChange[]> {
  if (from === to) return []
  const out = await runGit(root, ['diff-tree', '-r', '-z', '--no-renames', '--full-index', '--no-commit-id', from, to])
  const fields = out.split('\0')
  const changes: TreeChange[] = []
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const meta = fields[i]
    if (!meta.startsWith(':')) continue
    const [oldMode, newMode, oldObject, newObject, status] = meta.slice(1).split(' ')
    changes.push({path: fields[i + 1], status, oldMode, newMode, oldObject, newObject})
  }
  return changes
}

/**
 * The tree id of the work tree as it is now: tracked files with their uncommitted changes plus untracked
 * files that are not ignored. Built in a temporary copy of the index so the user's index is untouched.
 */
export async function workTreeSnapshot(root: string): Promise<string> {
  const indexPath = (await runGit(root, ['rev-parse', '--git-path', 'index'])).trim()
  const realIndex = isAbsolute(indexPath) ? indexPath : join(root, indexPath)
  const dir = await mkdtemp(join(tmpdir(), 'slipway-index-'))
  const tempIndex = join(dir, 'index')
  try {
    await copyFile(realIndex, tempIndex).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e
    })
    const env = {GIT_INDEX_FILE: tempIndex}
    await runGit(root, ['add', '--all', '--', '.'], {env})
    return (await runGit(root, ['write-tree'], {env})).trim()
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
}
