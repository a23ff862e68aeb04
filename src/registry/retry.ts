import {setTimeout as wait} from 'node:timers/promises'

/** Backoff for temporary failures: exponential with full jitter, and the registry's Retry-After honoured. */

/** Wait before retry number `attempt` (0-based): between base·2^attempt / 2 and base·2^attempt, capped. */
export function backoffMs(attempt: number, baseMs: number, capMs = 10_000, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt)
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}

/**
 * Parses a Retry-After header: delay seconds or an HTTP date. Undefined when absent or unreadable.
 * Negative or past values give 0.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined
  const v = value.trim()
  if (/^\d+$/.test(v)) return Number(v) * 1000
  const at = Date.parse(v)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}

/** Tracks the wait budget of one request across its retries. */
export class RetryBudget {
  private waited = 0
  constructor(private readonly maxAttempts: number, private readonly maxWaitMs: number, private readonly baseMs: number) {}

  /** The delay before the next attempt, or undefined when retries or wait time are used up. */
  next(attempt: number, retryAfterMs?: number): number | undefined {
    if (attempt >= this.maxAttempts) return undefined
    const delay = retryAfterMs ?? backoffMs(attempt, this.baseMs)
    if (this.waited + delay > this.maxWaitMs) return undefined
    this.waited += delay
    return delay
  }
}

/** Waits `ms`; rejects with the signal's reason as soon as it is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return wait(ms, undefined, signal ? {signal} : undefined)
}
