import {setTimeout as sleep} from 'node:timers/promises'

import lockfile from 'proper-lockfile'

import {SlipwayError} from '../errors.js'

export interface LockOptions {
  /**
   * A lock not refreshed for this long is taken over (its holder was killed). proper-lockfile refreshes
   * a held lock every staleMs/2 and enforces a 2000 ms minimum. Default 10 s.
   */
  staleMs?: number
  /** Give up waiting for the lock after this long with SlipwayError('conflict'). Default 5 min. */
  timeoutMs?: number
}

export const DEFAULT_LOCK_STALE_MS = 10_000
export const DEFAULT_LOCK_TIMEOUT_MS = 5 * 60_000

/** Tells the critical section whether the lock is still ours before it commits anything. */
export interface LockHandle {
  assertHeld(): void
}

/** In-process queue per lock path, so concurrent callers in one process wait their turn cheaply. */
const localQueues = new Map<string, Promise<unknown>>()

/**
 * The store's inter-process lock: a directory created atomically by proper-lockfile, kept fresh while held,
 * taken over when stale (a SIGKILLed holder blocks others for at most `staleMs`).
 */
export class StoreLock {
  private readonly staleMs: number
  private readonly timeoutMs: number

  constructor(private readonly lockDir: string, private readonly target: string, options: LockOptions = {}) {
    this.staleMs = Math.max(options.staleMs ?? DEFAULT_LOCK_STALE_MS, 2000)
    this.timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS
  }

  async run<T>(fn: (handle: LockHandle) => Promise<T>): Promise<T> {
    const previous = localQueues.get(this.lockDir) ?? Promise.resolve()
    const mine = previous.catch(() => {}).then(() => this.runLocked(fn))
    const tail = mine.catch(() => {})
    localQueues.set(this.lockDir, tail)
    try {
      return await mine
    } finally {
      if (localQueues.get(this.lockDir) === tail) localQueues.delete(this.lockDir)
    }
  }

  private async runLocked<T>(fn: (handle: LockHandle) => Promise<T>): Promise<T> {
    let compromised: Error | undefined
    const release = await this.acquire(err => {
      compromised = err
    })
    const handle: LockHandle = {
      assertHeld: () => {
        if (compromised) {
          throw new SlipwayError('conflict', `lost the store lock ${this.lockDir} (${compromised.message})`, {
            hint: 'another process took it over; retry the command',
          })
        }
      },
    }
    try {
      return await fn(handle)
    } finally {
      await release().catch(() => {}) // ERELEASED after a compromise: nothing left to release
    }
  }

  private async acquire(onCompromised: (err: Error) => void): Promise<() => Promise<void>> {
    const deadline = Date.now() + this.timeoutMs
    let delay = 10
    for (;;) {
      try {
        return await lockfile.lock(this.target, {
          lockfilePath: this.lockDir,
          realpath: false,
          stale: this.staleMs,
          retries: 0,
          onCompromised,
        })
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') {
          throw new SlipwayError('environment', `cannot lock the store at ${this.lockDir}: ${(e as Error).message}`, {cause: e})
        }
      }
      if (Date.now() >= deadline) {
        throw new SlipwayError('conflict', `the store is locked by another process (${this.lockDir}) for more than ${Math.round(this.timeoutMs / 1000)} s`, {
          hint: 'wait for the other slipway process to finish, or remove the lock directory if no slipway process runs',
        })
      }
      await sleep(delay + Math.random() * delay)
      delay = Math.min(delay * 2, 250)
    }
  }
}
