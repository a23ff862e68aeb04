import {Flags, type Interfaces} from '@oclif/core'

import {dirname, resolve} from 'node:path'

import {SlipwayError} from '../errors.js'
import {writeFileAtomic} from '../fs-atomic.js'
import type {ContextOptions, WorkflowContext} from '../workflows/context.js'
import {BaseCommand} from './base-command.js'
import {type ContextFlags, contextFromFlags} from './context.js'
import type {HumanOutput} from './sync-output.js'

type Output = Record<string, unknown>

/**
 * A command that runs one workflow and returns its result R. The base owns what every such command
 * repeated: the workflow context (opened by the first `context()` call, closed when the command ends,
 * whatever happened), `--json` (oclif's: `run()` returns the result, oclif prints it, and `this.log` is
 * silent under --json, so human lines are logged unconditionally) and `--report-file` (the returned result,
 * written before it is printed, only when `run()` succeeded).
 */
export abstract class WorkflowCommand<R> extends BaseCommand {
  static enableJsonFlag = true
  // oclif adds its own --json ("Format output as json.") unless the command's flags name one; a command
  // without --json (dimg run) sets enableJsonFlag false and BaseCommand's baseFlags
  static baseFlags: typeof BaseCommand.baseFlags & {json?: Interfaces.BooleanFlag<boolean>} = {
    ...BaseCommand.baseFlags,
    json: Flags.boolean({description: 'Print the result as JSON on stdout.', helpGroup: 'GLOBAL'}),
  }

  private workflowContext?: WorkflowContext
  private reportFile?: string

  abstract run(): Promise<R>

  /**
   * The command's workflow context, made from its flags on the first call (later calls return it); the
   * explicit credentials go to `credentialsFor` only (see contextFromFlags).
   */
  protected context(flags: ContextFlags, credentialsFor?: string, given?: ContextOptions): WorkflowContext {
    this.workflowContext ??= contextFromFlags(flags, credentialsFor, given)
    return this.workflowContext
  }

  /** A result's human form: the notes to the log (not under --quiet), the lines to stdout (not under --json). */
  protected print(output: HumanOutput): void {
    for (const line of output.notes) this.note(line)
    for (const line of output.lines) this.log(line)
  }

  /** A line of the result's human form that belongs on stderr with the log (`registry login` saying where it saved): not under --json. */
  protected inform(line: string): void {
    if (!this.jsonEnabled()) this.workflowContext?.reporter.info(line)
  }

  /** Print (and report) `result` as a successful run would, then fail with `error`: `store verify` shows a bad store's report. */
  protected async failWith(result: R, error: SlipwayError): Promise<never> {
    await this.writeReport(result)
    if (this.jsonEnabled()) this.logJson(result)
    throw error
  }

  protected async parse<F extends Output, B extends Output, A extends Output>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    const parsed = await super.parse(options, argv)
    const file = (parsed.flags as {'report-file'?: unknown})['report-file']
    this.reportFile = typeof file === 'string' ? file : undefined
    return parsed
  }

  /** oclif's run, with the report written from run()'s result (inside oclif's error handling, so a failed write is one line). */
  protected async _run<T>(): Promise<T> {
    const run = this.run.bind(this)
    this.run = async () => {
      const result = await run()
      await this.writeReport(result)
      return result
    }
    return super._run<T>()
  }

  protected async finally(err: Error | undefined): Promise<void> {
    try {
      await this.workflowContext?.close()
    } catch (e) {
      // a run that failed already has its error; otherwise this one is the command's (one line, its exit code)
      if (!err) await this.catch(e as Error)
    } finally {
      await super.finally(err)
    }
  }

  /** Plain JSON, whatever the terminal: oclif's logJson colours it by theme, and scripts and tests parse it. */
  protected logJson(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
  }

  private async writeReport(result: R): Promise<void> {
    if (!this.reportFile) return
    const target = resolve(this.reportFile)
    try {
      await writeFileAtomic(target, `${JSON.stringify(result, null, 2)}\n`, dirname(target))
    } catch (e) {
      throw new SlipwayError('environment', `cannot write the report file ${target}: ${(e as Error).message}`, {
        hint: 'name a file in an existing, writable directory',
        cause: e,
      })
    }
  }
}
