/**
 * SIGINT, SIGTERM and SIGHUP stop a command gracefully: the first one aborts the process's one AbortSignal,
 * which the workflow context hands to long work (registry transfers, shell stages, extraction), so that their
 * finally blocks remove unpacked roots and temp blobs and release leases; the base command then exits
 * 128+signal with one line. A second signal of the same kind exits at once, leaving the rest to `dimg cleanup`.
 */
const SIGNAL_NUMBERS = {SIGHUP: 1, SIGINT: 2, SIGTERM: 15} as const
export type InterruptSignal = keyof typeof SIGNAL_NUMBERS

const controller = new AbortController()
let received: InterruptSignal | undefined
let installed = false

/** Aborted by the first SIGINT/SIGTERM/SIGHUP once `installInterruptHandlers` ran. */
export const interruptSignal: AbortSignal = controller.signal

export function installInterruptHandlers(): void {
  if (installed) return
  installed = true
  for (const name of Object.keys(SIGNAL_NUMBERS) as InterruptSignal[]) {
    process.on(name, () => {
      if (received === name) {
        process.stderr.write(`slipway: interrupted again (${name}); exiting before cleanup finished: run \`slipway dimg cleanup\`\n`)
        process.exit(interruptExitCode(name))
      }
      if (received) return
      received = name
      controller.abort(new InterruptedError(name))
    })
  }
}

/** The signal that interrupted this process, if one did. */
export function interruptedBy(): InterruptSignal | undefined {
  return received
}

export function interruptExitCode(signal: InterruptSignal): number {
  return 128 + SIGNAL_NUMBERS[signal]
}

/** The abort reason long work rejects with. */
export class InterruptedError extends Error {
  constructor(readonly signal: InterruptSignal) {
    super(`interrupted (${signal})`)
    this.name = 'AbortError'
  }
}
