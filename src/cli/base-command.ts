import {Command, Flags, Errors, type Interfaces, toConfiguredId} from '@oclif/core'

import {isSlipwayError, EXIT_CODES, SlipwayError} from '../errors.js'
import {redactSecrets} from '../redact.js'
import {installInterruptHandlers, interruptedBy, interruptExitCode} from './interrupt.js'
import {stopLiveDisplays, type Verbosity} from './progress.js'

/**
 * Every command's base: `--debug`, `--quiet`/`--verbose`, and one place where errors become a single line
 * on stderr with the exit code of their kind (WorkflowCommand adds the context, `--json` and the report).
 * Results go to stdout (`this.log`), everything else to stderr (`note`). An interrupted command (cli/interrupt.ts)
 * exits 128+signal once its cleanup ran, whatever error the interruption surfaced as.
 */
export abstract class BaseCommand extends Command {
  static baseFlags = {
    debug: Flags.boolean({description: 'Show stack traces and HTTP exchanges (secrets redacted).', helpGroup: 'GLOBAL'}),
    quiet: Flags.boolean({char: 'q', description: 'Print only errors, warnings and results (stdout).', helpGroup: 'GLOBAL', exclusive: ['verbose']}),
    verbose: Flags.boolean({description: 'Also log every blob transferred.', helpGroup: 'GLOBAL', exclusive: ['quiet']}),
  }

  protected debugEnabled = false
  /** From --quiet/--verbose, read before parsing so that even a failing parse knows it. */
  protected verbosity: Verbosity = 'normal'

  async init(): Promise<void> {
    const own = this.argv.includes('--') ? this.argv.slice(0, this.argv.indexOf('--')) : this.argv
    this.debugEnabled = own.includes('--debug') || process.env.SLIPWAY_DEBUG === '1'
    this.verbosity = own.includes('--quiet') || own.includes('-q') ? 'quiet' : own.includes('--verbose') ? 'verbose' : 'normal'
    if (this.debugEnabled) process.env.SLIPWAY_DEBUG = '1'
    // oclif fills a missing argument from piped stdin: a CI job's stdin, or the password meant for
    // `registry login --password-stdin`, would become a dimg, a REPO or the host to contact
    for (const arg of Object.values(this.ctor.args ?? {})) arg.ignoreStdin = true
    installInterruptHandlers()
    await super.init()
  }

  /** A log line about the result (a summary, totals): stderr, unless --quiet. */
  protected note(line: string): void {
    if (this.verbosity !== 'quiet') process.stderr.write(`${line}\n`)
  }

  protected async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<never> {
    // oclif's own exits (help, version) pass through
    if (err instanceof Errors.ExitError) throw err
    stopLiveDisplays()
    if (interruptedBy()) {
      if (this.debugEnabled && err.stack) process.stderr.write(`${redactSecrets(err.stack)}\n`)
      this.exitInterrupted()
    }
    const {line, exitCode} = describeError(err, this.id ? toConfiguredId(this.id, this.config) : undefined)
    if (this.debugEnabled && err.stack) process.stderr.write(`${redactSecrets(err.stack)}\n`)
    process.stderr.write(`slipway: ${redactSecrets(line)}\n`)
    process.exitCode = exitCode
    // Leave through oclif so that it does not print anything more.
    throw new Errors.ExitError(exitCode)
  }

  /** A command that finished its work although a signal came: it still reports the interruption. */
  protected async finally(err: Error | undefined): Promise<void> {
    stopLiveDisplays()
    await super.finally(err)
    if (!err && interruptedBy()) this.exitInterrupted()
  }

  private exitInterrupted(): never {
    const signal = interruptedBy()!
    process.stderr.write(`slipway: interrupted (${signal}); cleaned up\n`)
    process.exitCode = interruptExitCode(signal)
    throw new Errors.ExitError(process.exitCode)
  }
}

/** An error as its one line and exit code; `command` (space-separated, e.g. `dimg build`) names where oclif's own errors came from. */
export function describeError(err: unknown, command?: string): {line: string; exitCode: number} {
  if (isSlipwayError(err)) return {line: err.userLine, exitCode: err.exitCode}
  const e = err as Error & {oclif?: {exit?: number}; code?: string}
  // oclif's flag and argument parsing errors
  if (e && typeof e === 'object' && 'oclif' in e && e.oclif) {
    const first = String(e.message ?? '').split('\n').map((l) => l.trim()).filter(Boolean)
    const msg = first.join(' ').replace(/\s*See more help with --help\s*/, '')
    return command
      ? {line: `${command}: ${msg} (see slipway ${command} --help)`, exitCode: EXIT_CODES.usage}
      : {line: `${msg} (see slipway --help)`, exitCode: EXIT_CODES.usage}
  }
  if (e && typeof e === 'object' && typeof e.code === 'string') {
    const sys = systemErrorLine(e as NodeJS.ErrnoException)
    if (sys) return sys
  }
  const message = e instanceof Error ? e.message : String(err)
  return {line: `internal error: ${message} (run again with --debug and report it)`, exitCode: EXIT_CODES.internal}
}

function systemErrorLine(e: NodeJS.ErrnoException): {line: string; exitCode: number} | undefined {
  const where = e.path ? ` ${e.path}` : ''
  switch (e.code) {
    case 'EACCES':
    case 'EPERM':
      return {line: `permission denied:${where}: check the owner and mode, or set SLIPWAY_HOME to a writable directory`, exitCode: EXIT_CODES.environment}
    case 'ENOSPC':
      return {line: `no space left on device${where}: free disk space and run again`, exitCode: EXIT_CODES.environment}
    case 'ENOENT':
      return {line: `no such file or directory:${where}`, exitCode: EXIT_CODES['not-found']}
    default:
      return undefined
  }
}

export type InferredFlags<T extends typeof Command> = Interfaces.InferredFlags<T['flags'] & typeof BaseCommand['baseFlags']>

export {SlipwayError}
