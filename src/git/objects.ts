/** git's object database: what objects are (`cat-file --batch-check`), blobs streamed (`cat-file --batch`), commit times. */
import type {ChildProcessWithoutNullStreams} from 'node:child_process'

import {SlipwayError} from '../errors.js'
import {runGit, runGitWithInput, spawnGit} from './git.js'

export interface ObjectInfo {
  type: string
  size: number
}

/** What git knows of each object `names` names, asked in one `git cat-file --batch-check`: by object id;
 *  names git does not know (or finds ambiguous) are absent. */
export async function objectInfo(repoDir: string, names: readonly string[]): Promise<Map<string, ObjectInfo>> {
  const info = new Map<string, ObjectInfo>()
  if (names.length === 0) return info
  const questions = `${[...new Set(names)].join('\n')}\n`
  const out = await runGitWithInput(repoDir, ['cat-file', '--batch-check=%(objectname) %(objecttype) %(objectsize)'], questions)
  for (const line of out.toString('latin1').split('\n')) {
    const [name, type, size] = line.split(' ')
    if (name && type && /^\d+$/.test(size ?? '')) info.set(name, {type, size: Number(size)})
  }
  return info
}

/** Sizes of many blobs at once. */
export async function blobSizes(repoDir: string, shas: readonly string[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>()
  for (const [sha, {type, size}] of await objectInfo(repoDir, shas)) if (type === 'blob') sizes.set(sha, size)
  return sizes
}

/** Which of `commits` (full ids) exist as commits in the repository at `root`. */
export async function existingCommits(root: string, commits: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>()
  for (const [name, {type}] of await objectInfo(root, commits)) if (type === 'commit') found.add(name)
  return found
}

export async function commitTime(repoDir: string, commit: string): Promise<number> {
  return Number((await runGit(repoDir, ['show', '-s', '--format=%ct', `${commit}^{commit}`])).trim())
}

/** Reads blobs one after another from a single `git cat-file --batch` process, streaming their content. */
export class GitBlobReader {
  private readonly child: ChildProcessWithoutNullStreams
  private readonly chunks: AsyncIterator<Buffer>
  private buffered: Buffer = Buffer.alloc(0)
  private busy = false

  constructor(repoDir: string) {
    this.child = spawnGit(repoDir, ['cat-file', '--batch'])
    this.chunks = this.child.stdout[Symbol.asyncIterator]()
  }

  private async fill(): Promise<void> {
    const next = await this.chunks.next()
    if (next.done) throw new SlipwayError('internal', 'git cat-file ended unexpectedly')
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, next.value]) : next.value
  }

  /** Streams one blob's bytes; the generator must be read to its end before the next call. */
  async *read(sha: string): AsyncGenerator<Buffer> {
    if (this.busy) throw new SlipwayError('internal', 'GitBlobReader.read called while a blob is being read')
    this.busy = true
    try {
      this.child.stdin.write(`${sha}\n`)
      let nl: number
      while ((nl = this.buffered.indexOf(10)) === -1) await this.fill()
      const header = this.buffered.subarray(0, nl).toString()
      this.buffered = this.buffered.subarray(nl + 1)
      const m = /^\S+ blob (\d+)$/.exec(header)
      if (!m) throw new SlipwayError('not-found', `git object ${sha} is not a blob (${header})`)
      let remaining = Number(m[1])
      while (remaining > 0) {
        if (this.buffered.length === 0) await this.fill()
        const take = this.buffered.subarray(0, Math.min(remaining, this.buffered.length))
        this.buffered = this.buffered.subarray(take.length)
        remaining -= take.length
        yield take
      }
      while (this.buffered.length < 1) await this.fill()
      this.buffered = this.buffered.subarray(1) // trailing LF
    } finally {
      this.busy = false
    }
  }

  async readAll(sha: string): Promise<Buffer> {
    const parts: Buffer[] = []
    for await (const c of this.read(sha)) parts.push(c)
    return Buffer.concat(parts)
  }

  close(): void {
    this.child.stdin.end()
  }
}
