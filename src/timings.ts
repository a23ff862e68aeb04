/**
 * SLIPWAY_TIMINGS=1: one stderr line per measured phase of a build (`timing <what> <seconds>s`), to find
 * where a build's time goes. Off by default; it never changes what is built.
 */
const enabled = (): boolean => process.env.SLIPWAY_TIMINGS === '1'

export async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
  if (!enabled()) return work()
  const t0 = performance.now()
  try {
    return await work()
  } finally {
    process.stderr.write(`timing ${what} ${((performance.now() - t0) / 1000).toFixed(3)}s\n`)
  }
}
