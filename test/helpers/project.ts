import {execFile, spawn} from 'node:child_process'
import {chmod, cp, mkdir, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {promisify} from 'node:util'

import {REPO_ROOT} from './cli.js'
import {gitTestEnv} from './git-env.js'
import {makeTempDir} from './tmp.js'

const run = promisify(execFile)

export const EXAMPLE_DIR = join(REPO_ROOT, 'fixtures', 'example')
/** fixtures/heavy: ~100 MiB of random stage layers on base/heavy (pushBaseImage with HEAVY_BASE_DATA_BYTES). */
export const HEAVY_DIR = join(REPO_ROOT, 'fixtures', 'heavy')
export const HEAVY_BASE_DATA_BYTES = 8 * 1024 * 1024
/** The registry host the example and inline dappfiles are written against; rewritten to the test registry. */
export const PLACEHOLDER_REGISTRY = 'localhost:5000'
/** Commits get fixed dates: the first one this, each next one a minute later. */
const FIRST_COMMIT_EPOCH = 1_700_000_000
/** The names a project's config file may have (src/config/load.ts looks for them in this order). */
const CONFIG_FILE_NAMES = ['dappfile.yaml', 'dappfile.yml', 'werf.yaml']

export type ProjectFile = string | {content: string; mode: number}
/** Files to write (content or content + mode) or, for `null`, to delete; paths relative to the project. */
export type ProjectChanges = Record<string, ProjectFile | null>

/** A tree written object by object, as no `git add` would: names are raw bytes (a Buffer) or UTF-8, and may
 *  be `..`, hold a `/`, or be longer than a file system allows. */
export type RawTreeEntry = {name: string | Buffer; content: string} | {name: string | Buffer; tree: RawTreeEntry[]}

export interface MakeProjectOptions {
  /** 'HOST:PORT' of the test registry: every `localhost:5000` in the dappfile and files becomes this. */
  registryHost: string
  /** Start from a copy of fixtures/example. */
  fromExample?: boolean
  /** Start from a copy of this project directory (e.g. HEAVY_DIR); `fromExample` is EXAMPLE_DIR. */
  fromDir?: string
  /** dappfile.yaml content (replaces the example's when both are given); else the copied dir's config file. */
  dappfile?: string
  files?: Record<string, ProjectFile>
  /** The directory's (= the project's) name; default a random temp name `slipway-project-XXXX`. */
  name?: string
}

export interface TestProject {
  /** The project directory: a git work tree with everything committed. */
  dir: string
  /** The project's name as slipway derives it (the directory's name). */
  name: string
  /** Writes/deletes the files, rewrites the registry host, and commits everything; returns the new HEAD. */
  commit(message: string, changes?: ProjectChanges): Promise<string>
  /** Writes/deletes files in the work tree without committing (for --dev). */
  write(changes: ProjectChanges): Promise<void>
  /** Deletes a path and commits the deletion. */
  rm(path: string, message?: string): Promise<string>
  head(): Promise<string>
  git(args: string[]): Promise<string>
  /** Commits exactly this tree on top of HEAD (the work tree is left alone); returns the new HEAD. */
  commitRawTree(message: string, tree: RawTreeEntry[]): Promise<string>
}

/** `git hash-object -w --literally` of raw bytes (git checks nothing about a tree written this way). */
function writeGitObject(dir: string, type: 'blob' | 'tree', data: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['hash-object', '-w', '--literally', '-t', type, '--stdin'], {cwd: dir, env: gitTestEnv('@0 +0000')})
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
    child.on('error', reject)
    child.on('close', code => (code === 0 ? resolve(out.trim()) : reject(new Error(`git hash-object failed: ${err}`))))
    child.stdin.end(data)
  })
}

async function writeRawTree(dir: string, entries: RawTreeEntry[]): Promise<string> {
  const written: {mode: string; name: Buffer; sha: string; sortKey: Buffer}[] = []
  for (const e of entries) {
    const name = Buffer.from(e.name)
    const isTree = 'tree' in e
    const sha = isTree ? await writeRawTree(dir, e.tree) : await writeGitObject(dir, 'blob', Buffer.from(e.content))
    written.push({mode: isTree ? '40000' : '100644', name, sha, sortKey: isTree ? Buffer.concat([name, Buffer.from('/')]) : name})
  }
  written.sort((a, b) => Buffer.compare(a.sortKey, b.sortKey)) // git's tree order
  return writeGitObject(dir, 'tree', Buffer.concat(written.map(w => Buffer.concat([Buffer.from(`${w.mode} `), w.name, Buffer.from([0]), Buffer.from(w.sha, 'hex')]))))
}

/**
 * A project in a temp dir: fixtures/example or an inline dappfile plus files, with the registry host
 * rewritten, in a fresh git repository whose commits have fixed authors and dates (so commit ids and
 * layer timestamps are the same on every run).
 */
export async function makeProject(opts: MakeProjectOptions): Promise<TestProject> {
  const parent = await makeTempDir('project')
  const name = opts.name ?? 'app'
  const dir = join(parent, name)
  await mkdir(dir)
  const fromDir = opts.fromDir ?? (opts.fromExample ? EXAMPLE_DIR : undefined)
  if (fromDir) await cp(fromDir, dir, {recursive: true})
  let commits = 0
  const git = async (args: string[]): Promise<string> => {
    const env = gitTestEnv(`@${FIRST_COMMIT_EPOCH + commits * 60} +0000`)
    const {stdout} = await run('git', ['-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false', ...args], {cwd: dir, env})
    return stdout.trim()
  }
  const rewrite = (text: string): string => text.split(PLACEHOLDER_REGISTRY).join(opts.registryHost)
  const write = async (changes: ProjectChanges): Promise<void> => {
    for (const [path, file] of Object.entries(changes)) {
      const target = join(dir, path)
      if (file === null) {
        await rm(target, {recursive: true, force: true})
        continue
      }
      await mkdir(dirname(target), {recursive: true})
      const content = typeof file === 'string' ? file : file.content
      await writeFile(target, rewrite(content))
      await chmod(target, typeof file === 'string' ? 0o644 : file.mode)
    }
  }
  const commit = async (message: string, changes: ProjectChanges = {}): Promise<string> => {
    await write(changes)
    await git(['add', '-A'])
    await git(['commit', '-q', '--allow-empty', '-m', message])
    commits++
    return git(['rev-parse', 'HEAD'])
  }

  if (opts.dappfile !== undefined) await writeFile(join(dir, 'dappfile.yaml'), opts.dappfile)
  // The config file, whichever name it has (dappfile.yaml, dappfile.yml, werf.yaml), gets the registry host.
  const configFiles = (await readdir(dir)).filter((f) => CONFIG_FILE_NAMES.includes(f))
  if (configFiles.length === 0) throw new Error(`makeProject: no ${CONFIG_FILE_NAMES.join(', ')} in ${fromDir ?? 'the options'}`)
  for (const f of configFiles) await writeFile(join(dir, f), rewrite(await readFile(join(dir, f), 'utf8')))
  await write(opts.files ?? {})
  await git(['init', '-q'])
  await commit('initial')
  return {
    dir,
    name,
    commit,
    write,
    rm: (path, message = `remove ${path}`) => commit(message, {[path]: null}),
    head: () => git(['rev-parse', 'HEAD']),
    git,
    async commitRawTree(message, tree) {
      const commitId = await git(['commit-tree', await writeRawTree(dir, tree), '-p', 'HEAD', '-m', message])
      await git(['update-ref', 'HEAD', commitId])
      commits++
      return commitId
    },
  }
}
