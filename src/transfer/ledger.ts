import type {Digest} from '../oci/digest.js'
import type {Repository} from '../oci/ref.js'
import {addBlob, type BlobOutcome, type BlobTotals, emptyTotals, type TransferredBlob} from './blobs.js'

/**
 * One run's knowledge of registry blobs: which repositories are known to hold a blob (because this run
 * found, mounted, uploaded or pulled it there), and which sends are in flight. A blob is sent to one
 * registry at most once per run: a second send of the same blob to the same registry waits for the first,
 * then mounts from where the first put it.
 */
export class TransferLedger {
  private readonly holders = new Map<string, Set<string>>()
  private readonly inFlight = new Map<string, Promise<unknown>>()
  /** Every blob outcome of the run, for the closing summary line. */
  readonly totals: BlobTotals = emptyTotals()

  /** Repositories of `registry` known to hold the blob. */
  knownHolders(registry: string, digest: Digest): string[] {
    return [...(this.holders.get(key(registry, digest)) ?? [])]
  }

  record(repo: Repository, digest: Digest): void {
    const k = key(repo.registry, digest)
    const set = this.holders.get(k) ?? new Set<string>()
    set.add(repo.path)
    this.holders.set(k, set)
  }

  /**
   * Runs `send` for a blob going to `repo` once no other send of it to the same registry is running, and
   * gives it the repositories now known to hold it (mount sources). A blob this run already placed in
   * `repo` is `exists` without a request.
   */
  async place(repo: Repository, digest: Digest, send: (holders: string[]) => Promise<BlobOutcome>): Promise<BlobOutcome> {
    const k = key(repo.registry, digest)
    for (let running = this.inFlight.get(k); running; running = this.inFlight.get(k)) await running.catch(() => undefined)
    if (this.holders.get(k)?.has(repo.path)) return 'exists'
    const sending = send(this.knownHolders(repo.registry, digest).filter(p => p !== repo.path))
    this.inFlight.set(k, sending)
    try {
      const outcome = await sending
      this.record(repo, digest)
      return outcome
    } finally {
      if (this.inFlight.get(k) === sending) this.inFlight.delete(k)
    }
  }

  count(blob: TransferredBlob): TransferredBlob {
    addBlob(this.totals, blob)
    return blob
  }
}

function key(registry: string, digest: Digest): string {
  return `${registry} ${digest}`
}
