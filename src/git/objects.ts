/** The git CLI, as the build uses it: plumbing commands and a streaming blob reader (`cat-file --batch`). */
import {execFile, spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {promisify} from 'node:util'

import {SlipwayError} from '../errors.js'

const run = promisify(execFile)
const GIT_ENV = {...process.env, GIT_LITERAL_PATHSPECS: '1', LC_ALL: 'C'}

export async function git(repoDir: string, args: string[]): Promise<string> {
  try {
    const {stdout} = await run('git', args, {cwd: repoDir, env: GIT_ENV, maxBuffer: 1 << 30, encoding: 'utf8'})
    return stdout
  } catch (e) {
    const err = e as NodeJS.ErrnoException & {stderr?: string}
    if (err.code === 'ENOENT') throw new SlipwayError('environment', 'git is not installed', {hint: 'install git (apt-get install git)'})
    const line = err.stderr?.trim().split('\n').pop() ?? err.message
    throw new SlipwayError('not-found', `git ${args[0]} in ${repoDir} failed: ${line}`, {cause: e})
  }
}

export async function commitTime(repoDir: string, commit: string): Promise<number> {
  return Number((await git(repoDir, ['show', '-s', '--format=%ct', `${commit}^{commit}`])).trim())
}

/** Reads blobs one after another from a single `git cat-file --batch` process, streaming their content. */
export class GitBlobReader {
  private readonly child: ChildProcessWithoutNullStreams
  private readonly chunks: AsyncIterator<Buffer>
  private buffered: Buffer = Buffer.alloc(0)
  private busy = false

  constructor(repoDir: string) {
    this.child = spawn('git', ['cat-file', '--batch'], {cwd: repoDir, env: GIT_ENV})
    this.child.on('error', () => {})
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

/** Sizes of many blobs at once (`git cat-file --batch-check`). */
export function blobSizes(repoDir: string, shas: string[]): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['cat-file', '--batch-check'], {cwd: repoDir, env: GIT_ENV})
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.on('error', e => reject(new SlipwayError('environment', `cannot run git: ${e.message}`, {hint: 'install git'})))
    child.on('close', code => {
      if (code !== 0) return reject(new SlipwayError('not-found', `git cat-file --batch-check in ${repoDir} failed`))
      const sizes = new Map<string, number>()
      for (const line of out.split('\n')) {
        const [sha, type, size] = line.split(' ')
        if (sha && type === 'blob') sizes.set(sha, Number(size))
      }
      resolve(sizes)
    })
    child.stdin.end([...new Set(shas)].map(s => `${s}\n`).join(''))
  })
}
