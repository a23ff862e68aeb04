/**
 * Raw deflate of independent chunks in worker threads, with fixed zlib parameters: a chunk's output
 * depends only on its bytes and on whether it is the last one, never on which worker deflated it or how
 * many there are. Workers are started on first use, kept for later layers, and hold the process open only
 * while they have work.
 */
import {availableParallelism} from 'node:os'
import {Worker} from 'node:worker_threads'
import {constants as zlibConstants} from 'node:zlib'

import {SlipwayError} from '../errors.js'
import {abortError} from './abort-error.js'

/** Fixed deflate parameters, so the same chunk gives the same bytes with the same zlib. */
export const DEFLATE_OPTIONS = {level: 6, memLevel: 8, windowBits: 15, strategy: zlibConstants.Z_DEFAULT_STRATEGY}

// Evaluated rather than loaded from a file: the CLI is one bundled script, and tests run the TypeScript
// sources, so there is no worker file whose path would be right in both. A chunk that is not the last ends
// in a sync flush (byte-aligned, not final), so the outputs concatenate into one deflate stream.
const WORKER_SOURCE = `
const {parentPort, workerData} = require('node:worker_threads')
const zlib = require('node:zlib')
parentPort.on('message', ({data, last}) => {
  const out = zlib.deflateRawSync(data, {...workerData, finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH})
  const owned = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength
  parentPort.postMessage(out, owned ? [out.buffer] : [])
})
`

interface Job {
  data: Uint8Array
  last: boolean
  signal: AbortSignal | undefined
  onAbort?: () => void
  resolve: (out: Buffer) => void
  reject: (e: unknown) => void
}

interface Slot {
  worker: Worker
  job?: Job
}

export class DeflatePool {
  readonly size: number
  #slots: Slot[] = []
  #queue: Job[] = []
  #closed = false

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 1) throw new SlipwayError('internal', `deflate pool size ${size}`)
    this.size = size
  }

  /**
   * Deflates `data` (a buffer of its own is transferred to the worker, not copied: the caller must not
   * touch it again). A job
   * still queued when `signal` aborts is dropped; one already running finishes and its output is dropped.
   */
  deflate(data: Uint8Array, last: boolean, signal?: AbortSignal): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new SlipwayError('internal', 'the deflate pool is closed'))
    if (signal?.aborted) return Promise.reject(abortError(signal, 'the compression'))
    return new Promise<Buffer>((resolve, reject) => {
      const job: Job = {data, last, signal, resolve, reject}
      if (signal) {
        job.onAbort = () => this.#drop(job)
        signal.addEventListener('abort', job.onAbort, {once: true})
      }
      this.#queue.push(job)
      this.#dispatch()
    })
  }

  /** Workers running now (started and not exited). */
  get workers(): number {
    return this.#slots.length
  }

  /** Stops every worker; jobs not finished yet are rejected. */
  async close(): Promise<void> {
    this.#closed = true
    for (const job of this.#queue.splice(0)) job.reject(new SlipwayError('internal', 'the deflate pool was closed'))
    await Promise.all(this.#slots.map(s => s.worker.terminate()))
  }

  #drop(job: Job): void {
    const i = this.#queue.indexOf(job)
    if (i < 0) return
    this.#queue.splice(i, 1)
    job.reject(abortError(job.signal!, 'the compression'))
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const slot = this.#slots.find(s => !s.job) ?? (this.#slots.length < this.size ? this.#start() : undefined)
      if (!slot) return
      const job = this.#queue.shift()!
      if (job.onAbort) job.signal!.removeEventListener('abort', job.onAbort)
      slot.job = job
      slot.worker.ref()
      const {data} = job
      const owned = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
      slot.worker.postMessage({data, last: job.last}, owned ? [data.buffer as ArrayBuffer] : [])
    }
  }

  #start(): Slot {
    const worker = new Worker(WORKER_SOURCE, {eval: true, workerData: DEFLATE_OPTIONS})
    const slot: Slot = {worker}
    worker.on('message', (out: Uint8Array) => {
      const job = slot.job
      slot.job = undefined
      worker.unref()
      if (job) {
        if (job.signal?.aborted) job.reject(abortError(job.signal, 'the compression'))
        else job.resolve(Buffer.from(out.buffer, out.byteOffset, out.byteLength))
      }
      this.#dispatch()
    })
    const lost = (e: unknown): void => {
      const i = this.#slots.indexOf(slot)
      if (i < 0) return
      this.#slots.splice(i, 1)
      slot.job?.reject(new SlipwayError('internal', 'a compression worker failed', {cause: e}))
      slot.job = undefined
      if (!this.#closed) this.#dispatch()
    }
    worker.on('error', lost)
    worker.on('exit', code => lost(new Error(`exited with code ${code}`)))
    this.#slots.push(slot)
    return slot
  }
}

let shared: DeflatePool | undefined

/**
 * The process's pool: one worker per core (SLIPWAY_GZIP_WORKERS overrides it; the bytes written are the
 * same for any count).
 */
export function deflatePool(): DeflatePool {
  shared ??= new DeflatePool(workerCount(process.env.SLIPWAY_GZIP_WORKERS))
  return shared
}

export function workerCount(setting: string | undefined): number {
  if (setting === undefined || setting === '') return Math.min(availableParallelism(), 8)
  const n = Number(setting)
  if (!Number.isSafeInteger(n) || n < 1 || n > 64) {
    throw new SlipwayError('usage', `SLIPWAY_GZIP_WORKERS=${setting} is not a number of workers`, {hint: 'set it to a whole number from 1 to 64, or unset it to use one per core'})
  }
  return n
}
