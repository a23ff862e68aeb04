import {execFile, spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {copyFile, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {isAbsolute, join} from 'node:path'

import {SlipwayError} from '../errors.js'
import {nameFromBytes} from '../oci/file-names.js'

/**
 * The git runner of every module, and the project's git repository read with it. Everything here reads;
 * the one exception is `workTreeSnapshot`, which hashes work-tree files into the object database (as
 * `git add` would) through a throw-away index, so that uncommitted content can be addressed as a tree id.
 */

/** A git command that ran and failed; the message names only the subcommand (arguments may hold credentials). */
export class GitCommandError extends SlipwayError {
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
    readonly status: number | null,
    cwd: string,
  ) {
    super('not-found', `git ${args[0]} in ${cwd} failed: ${stderr.trim().split('\n').filter(Boolean).at(-1) ?? `exit status ${status}`}`)
  }
}

export interface GitRunOptions {
  env?: Record<string, string>
}

const MAX_OUTPUT = 512 * 1024 * 1024

function gitEnv(opts: GitRunOptions): NodeJS.ProcessEnv {
  return {...process.env, LC_ALL: 'C', GIT_OPTIONAL_LOCKS: '0', ...opts.env}
}

function gitMissing(): SlipwayError {
  return new SlipwayError('environment', 'the git command was not found', {hint: 'install git and make sure it is on PATH'})
}

export async function runGit(cwd: string, args: readonly string[], opts: GitRunOptions = {}): Promise<string> {
  return (await runGitBytes(cwd, args, opts)).toString('utf8')
}

/** git's output as bytes: file names in it need not be UTF-8. */
export function runGitBytes(cwd: string, args: readonly string[], opts: GitRunOptions = {}): Promise<Buffer> {
  return runGitWithInput(cwd, args, undefined, opts)
}

/** git with `input` written to its stdin (the `--batch` commands read their questions there). */
export function runGitWithInput(cwd: string, args: readonly string[], input: string | undefined, opts: GitRunOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile('git', [...args], {cwd, env: gitEnv(opts), maxBuffer: MAX_OUTPUT, encoding: 'buffer'}, (err, stdout, stderrBytes) => {
      if (!err) return resolve(stdout)
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reject(gitMissing())
      reject(new GitCommandError(args, stderrBytes.toString('utf8'), typeof err.code === 'number' ? err.code : null, cwd))
    })
    if (input !== undefined) child.stdin!.on('error', () => {}).end(input) // an early exit is reported by the callback
  })
}

/** A long-running git process to talk to over stdin/stdout (`cat-file --batch`), with the runner's environment. */
export function spawnGit(cwd: string, args: readonly string[]): ChildProcessWithoutNullStreams {
  const child = spawn('git', [...args], {cwd, env: gitEnv({})})
  child.on('error', () => {}) // a missing git shows as its stdout ending; the reader says so
  return child
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

/** The commit HEAD points at and its committer time (seconds), or undefined in a repository without commits. */
export async function headCommit(root: string): Promise<{commit: string; time: number} | undefined> {
  try {
    // one spawn for both: a build clamps layer times to the commit's time
    const out = (await runGit(root, ['log', '-1', '--no-show-signature', '--format=%H %ct', 'HEAD', '--'])).trim()
    const [commit, time] = out.split(' ')
    return commit && /^\d+$/.test(time ?? '') ? {commit, time: Number(time)} : undefined
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
export function treeishExists(root: string, treeish: string): Promise<boolean> {
  return objectExists(root, `${treeish}^{tree}`)
}

/** Whether git can name an object by `spec` (`ID^{commit}`, `ID^{tree}`…) in the repository. */
export async function objectExists(root: string, spec: string): Promise<boolean> {
  try {
    await runGit(root, ['cat-file', '-e', spec])
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

/** NUL-separated records of git's `-z` output, the file names decoded byte for byte. */
function records(out: Buffer): Buffer[] {
  const list: Buffer[] = []
  for (let start = 0, nul; start < out.length; start = nul + 1) {
    nul = out.indexOf(0, start)
    if (nul === -1) nul = out.length
    list.push(out.subarray(start, nul))
  }
  return list
}

/** A tree path git may hand out but a file system must not be given: `..` or `.` components (which climb
 *  out of the mapping's `to`, or out of the image), empty ones, or (`parentIsTree` false) a name with `/`. */
function checkTreePath(root: string, treeish: string, path: string, parentIsTree = true): void {
  const parts = path.split('/')
  if (parentIsTree && !parts.some(p => p === '' || p === '.' || p === '..')) return
  throw new SlipwayError('integrity', `the git tree of ${treeish} in ${root} has an entry "${path.slice(0, 200)}", which is not a plain path (a "." or ".." component, or a "/" inside a name)`, {
    hint: 'the commit was made by hand or by a hostile tool and cannot be built; `git fsck` reports it, and a commit made with `git add` will not have it',
  })
}

/** Every file of a tree-ish (commit or tree id), recursively, sorted by path as git sorts. Trees with
 *  entries no checkout could create (`..`, a `/` inside a name) are refused. */
export async function listTree(root: string, treeish: string): Promise<TreeEntry[]> {
  const out = await runGitBytes(root, ['ls-tree', '-r', '-t', '-z', '--full-tree', treeish])
  const entries: TreeEntry[] = []
  const trees = new Set<string>([''])
  for (const record of records(out)) {
    const tab = record.indexOf(9)
    const [mode, type, object] = record.subarray(0, tab).toString('latin1').split(' ')
    const path = nameFromBytes(record.subarray(tab + 1))
    const slash = path.lastIndexOf('/')
    checkTreePath(root, treeish, path, trees.has(slash === -1 ? '' : path.slice(0, slash)))
    if (type === 'tree') trees.add(path)
    else entries.push({path, mode, object})
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
  const out = await runGitBytes(root, ['diff-tree', '-r', '-z', '--no-renames', '--full-index', '--no-commit-id', from, to])
  const fields = records(out)
  const changes: TreeChange[] = []
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const meta = fields[i].toString('latin1')
    if (!meta.startsWith(':')) continue
    const [oldMode, newMode, oldObject, newObject, status] = meta.slice(1).split(' ')
    const path = nameFromBytes(fields[i + 1])
    checkTreePath(root, `${from}..${to}`, path)
    changes.push({path, status, oldMode, newMode, oldObject, newObject})
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

/**
 * Files under `pathspecs` whose work-tree content differs from HEAD: modified, staged, deleted, and
 * untracked files that are not ignored (repository-relative paths, as `git status` lists them).
 */
export async function uncommittedPaths(root: string, pathspecs: string[]): Promise<string[]> {
  if (pathspecs.length === 0) return []
  const out = await runGit(root, ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames', '--', ...pathspecs])
  return out
    .split('\0')
    .filter(Boolean)
    .map(entry => entry.slice(3))
}
