import type {TransferReporter} from '../transfer/context.js'

export type {BeginOptions, ImageTransferred} from '../transfer/context.js'

/**
 * What workflows tell the user while they work. The CLI renders it live on a TTY and as plain lines
 * otherwise, at the verbosity the user asked for; tests use the quiet reporter. Workflows never print directly.
 */
export interface Reporter extends TransferReporter {
  /** Whether `output` lines reach the user as they come (false for --quiet runs and the quiet reporter). */
  readonly showsOutput: boolean
  /** The item finished; `outcome` is a short word or phrase: "built 2.1s", "cached", "mounted". */
  end(id: string, outcome: string, details?: EndDetails): void
  /** Output lines of a running command, shown with a stage prefix. */
  output(id: string, line: string): void
  /** The last lines of a failed command's output, for a reporter that did not show them as they came. */
  failedOutput(id: string, lines: string[]): void
}

export interface EndDetails {
  /** The size of the layer a stage added. */
  layerBytes?: number
}

export const quietReporter: Reporter = {
  showsOutput: false,
  info() {},
  warn() {},
  begin() {},
  phase() {},
  progress() {},
  end() {},
  image() {},
  output() {},
  failedOutput() {},
}
