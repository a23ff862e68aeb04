import {SlipwayError} from '../../errors.js'

/**
 * A template that does not parse or execute: the message is Go's one line
 * ("template: werf.yaml:12: function \"foo\" not defined", "template: werf.yaml:3:9: executing …"),
 * `file` and `line` (and `column` for execution errors) say where.
 */
export class TemplateError extends SlipwayError {
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
    readonly column?: number,
  ) {
    super('config', message.replace(/\n/g, ' '))
    this.name = 'TemplateError'
  }
}
