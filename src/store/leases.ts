import {readFile, readdir, unlink} from 'node:fs/promises'
import {join} from 'node:path'

import {isErrno, isPidAlive, tempName, writeFileAtomic} from '../fs-atomic.js'
import {type Digest, isDigest} from '../oci/digest.js'
import type {StorePaths} from './paths.js'

interface LeaseFile {
  pid: number
  digests: Digest[]
}

/**
 * Digests a running process is still working with (written, not yet referenced from index.json): gc keeps
 * them, and everything they reach, for as long as the process lives, however old the blobs are.
 * Stored as `leases/lease-<pid>-<random>`; leases of dead processes are ignored and removed by gc.
 */
export class Lease {
  private readonly digests = new Set<Digest>()
  private released = false
  /** Saves run one after another: each writes the whole set, so a slower earlier save must not land last. */
  private saving: Promise<void> = Promise.resolve()

  private constructor(private readonly paths: StorePaths, readonly file: string) {}

  static async create(paths: StorePaths): Promise<Lease> {
    const lease = new Lease(paths, join(paths.leasesDir, tempName('lease')))
    await lease.save()
    return lease
  }

  /** Resolves once the lease file on disk holds `digests`: from then on a gc that starts keeps them. */
  async add(...digests: Digest[]): Promise<void> {
    if (this.released) throw new Error('lease already released')
    const fresh = digests.filter(d => !this.digests.has(d))
    if (fresh.length === 0) return this.saving
    for (const d of fresh) this.digests.add(d)
    const saved = this.saving.catch(() => {}).then(() => this.save())
    this.saving = saved
    await saved
  }

  async release(): Promise<void> {
    this.released = true
    await this.saving.catch(() => {}) // a save landing after the unlink would bring the file back
    await unlink(this.file).catch(e => {
      if (!isErrno(e, 'ENOENT')) throw e
    })
  }

  private async save(): Promise<void> {
    const content: LeaseFile = {pid: process.pid, digests: [...this.digests]}
    await writeFileAtomic(this.file, JSON.stringify(content), this.paths.tmpDir)
  }
}

/** Digests leased by live processes; leases of dead processes (or unreadable ones) are deleted unless `dryRun`. */
export async function liveLeasedDigests(paths: StorePaths, dryRun = false): Promise<Set<Digest>> {
  const out = new Set<Digest>()
  let names: string[]
  try {
    names = await readdir(paths.leasesDir)
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return out
    throw e
  }
  for (const name of names) {
    const file = join(paths.leasesDir, name)
    let lease: Partial<LeaseFile> | undefined
    try {
      lease = JSON.parse(await readFile(file, 'utf8')) as Partial<LeaseFile>
    } catch (e) {
      if (isErrno(e, 'ENOENT')) continue
      lease = undefined
    }
    if (lease && typeof lease.pid === 'number' && isPidAlive(lease.pid) && Array.isArray(lease.digests)) {
      for (const d of lease.digests) if (typeof d === 'string' && isDigest(d)) out.add(d)
    } else if (!dryRun) {
      await unlink(file).catch(() => {})
    }
  }
  return out
}
