import {Errors, flush, handle, run} from '@oclif/core'

/**
 * oclif's execute() with slipway's error line: what fails outside a command's own catch (an unknown
 * command, oclif's own errors) is printed as `slipway: …` in one line too, with the exit code of its kind.
 * The error path's modules load only on an error: every command, --version too, starts here.
 */
export async function main(dir: string): Promise<void> {
  try {
    await run(process.argv.slice(2), dir)
    await flush()
  } catch (error) {
    if (error instanceof Errors.ExitError) return handle(error)
    const [{describeError}, {redactSecrets}] = await Promise.all([import('./base-command.js'), import('../redact.js')])
    const {line, exitCode} = describeError(error)
    process.stderr.write(`slipway: ${redactSecrets(line)}\n`)
    return handle(new Errors.ExitError(exitCode))
  }
}
