/**
 * What workflows tell the user while they work. The CLI renders it live on a TTY and as plain lines
 * otherwise; tests and --json runs use a quiet reporter. Workflows never print directly.
 */
export interface Reporter {
  /** Whether `output` lines reach the user (false for quiet and --json runs). */
  readonly showsOutput: boolean
  /** A line of plain information ("pushed localhost:5000/app:latest"). */
  info(line: string): void
  /** Something the user should know that does not stop the work. */
  warn(line: string): void
  /** A long-running item (a stage, a blob transfer) starts; `total` bytes when known. */
  begin(id: string, label: string, total?: number): void
  /** Bytes done so far for a transfer. */
  progress(id: string, done: number): void
  /** The item finished; `outcome` is a short word or phrase: "built 2.1s", "exists", "mounted". */
  end(id: string, outcome: string): void
  /** Output lines of a running command, shown with a stage prefix. */
  output(id: string, line: string): void
}

export const quietReporter: Reporter = {
  showsOutput: false,
  info() {},
  warn() {},
  begin() {},
  progress() {},
  end() {},
  output() {},
}
