/** The rejection of aborted work: the signal's reason when it is an AbortError, else one named so (as Node.js names its own). */
export function abortError(signal: AbortSignal, what: string): Error {
  const reason: unknown = signal.reason
  if (reason instanceof Error && reason.name === 'AbortError') return reason
  const e = new Error(`${what} was aborted`, {cause: reason})
  e.name = 'AbortError'
  return e
}
