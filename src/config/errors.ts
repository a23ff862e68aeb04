import {SlipwayError} from '../errors.js'

/** A problem in the config file, pinned to `file:line:column`; the message is the whole one-line report. */
export class ConfigError extends SlipwayError {
  readonly file: string
  readonly line: number
  readonly column: number

  constructor(file: string, line: number, column: number, what: string) {
    super('config', `${file}:${line}:${column}: ${what}`)
    this.file = file
    this.line = line
    this.column = column
  }
}
