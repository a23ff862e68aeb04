import type {BeginOptions, EndDetails, ImageTransferred, Reporter} from '../workflows/reporter.js'

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`
}

export {formatBytes}

/**
 * `quiet`: warnings (and the tail of a failed command) only; `normal`: a line per stage and per image and
 * the stage commands' output; `verbose`: a line per blob as well.
 */
export type Verbosity = 'quiet' | 'normal' | 'verbose'

interface Item {
  label: string
  total?: number
  detail: boolean
  phase?: string
  done: number
  startedAt: number
}

function endLine(item: Item | undefined, id: string, outcome: string, details?: EndDetails): string {
  const size = item?.total ? ` (${formatBytes(item.total)})` : ''
  const layer = details?.layerBytes ? `, layer ${formatBytes(details.layerBytes)}` : ''
  return `${item?.label ?? id}${size}: ${outcome}${layer}`
}

function imageLine(e: ImageTransferred): string {
  const moved = e.verb === 'pushed' ? 'uploaded' : 'downloaded'
  return `${e.verb} ${e.ref}: ${e.blobs} ${e.blobs === 1 ? 'blob' : 'blobs'}, ${formatBytes(e.bytes)} (${formatBytes(e.movedBytes)} ${moved})`
}

function outputLine(id: string, line: string): string {
  return `  [${id}] ${line}`
}

/** Whether an item's finished line is printed at this verbosity. */
function showsEnd(item: Item | undefined, verbosity: Verbosity): boolean {
  return verbosity === 'verbose' || (verbosity === 'normal' && !item?.detail)
}

/** The items a reporter has begun and not yet ended, with their phase and progress. */
abstract class ItemReporter {
  protected readonly items = new Map<string, Item>()

  begin(id: string, label: string, opts: BeginOptions = {}): void {
    this.items.set(id, {label, total: opts.total, detail: opts.detail ?? false, done: 0, startedAt: Date.now()})
  }

  phase(id: string, name: string): void {
    const item = this.items.get(id)
    if (item) item.phase = name
  }

  progress(id: string, done: number): void {
    const item = this.items.get(id)
    if (item) item.done = done
  }

  /** Forgets the item, returning it. */
  protected ended(id: string): Item | undefined {
    const item = this.items.get(id)
    this.items.delete(id)
    return item
  }
}

/** Plain lines for logs and pipes: one line when an item ends, nothing in between. */
export class LineReporter extends ItemReporter implements Reporter {
  constructor(private readonly out: NodeJS.WritableStream = process.stderr, private readonly verbosity: Verbosity = 'normal') {
    super()
  }

  get showsOutput(): boolean {
    return this.verbosity !== 'quiet'
  }

  info(line: string): void {
    if (this.verbosity !== 'quiet') this.out.write(`${line}\n`)
  }

  warn(line: string): void {
    this.out.write(`warning: ${line}\n`)
  }

  end(id: string, outcome: string, details?: EndDetails): void {
    const item = this.ended(id)
    if (showsEnd(item, this.verbosity)) this.out.write(`${endLine(item, id, outcome, details)}\n`)
  }

  image(event: ImageTransferred): void {
    this.info(imageLine(event))
  }

  output(id: string, line: string): void {
    if (this.showsOutput) this.out.write(`${outputLine(id, line)}\n`)
  }

  failedOutput(id: string, lines: string[]): void {
    if (!this.showsOutput) for (const line of lines) this.out.write(`${outputLine(id, line)}\n`)
  }
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
const TICK_MS = 250
/** Running items drawn at most; the rest are counted on one more line. */
const MAX_LIVE_LINES = 12

const colour = {
  dim: (s: string) => `\x1b[2m${s}\x1b[22m`,
  cyan: (s: string) => `\x1b[36m${s}\x1b[39m`,
  green: (s: string) => `\x1b[32m${s}\x1b[39m`,
  red: (s: string) => `\x1b[31m${s}\x1b[39m`,
  yellow: (s: string) => `\x1b[33m${s}\x1b[39m`,
}

/** `7s`, `1m05s`: whole seconds, so that the field visibly ticks once a second. */
export function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000)
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
}

/** Live displays drawing now: stopped (their lines cleared, the cursor shown) before an error line or exit. */
const liveDisplays = new Set<TtyReporter>()

/** Clears every live display and shows the cursor again: before the error line of a failed or interrupted command. */
export function stopLiveDisplays(): void {
  for (const d of liveDisplays) d.stop()
}

let exitHookInstalled = false
function restoreCursorOnExit(out: NodeJS.WriteStream): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // a second Ctrl-C exits at once (cli/interrupt.ts): the cursor must not stay hidden
  process.on('exit', () => {
    if (liveDisplays.size > 0) out.write('\x1b[?25h')
  })
}

/**
 * Live rendering for a terminal: one line per running item with a spinner, its phase and elapsed time
 * (bytes and rate for transfers), redrawn every 250 ms while anything runs, so a long stage visibly ticks;
 * finished items scroll up as plain lines. The cursor is hidden while the lines are drawn.
 */
export class TtyReporter extends ItemReporter implements Reporter {
  private drawn = 0
  private frame = 0
  private timer?: NodeJS.Timeout

  readonly showsOutput = true

  constructor(private readonly out: NodeJS.WriteStream = process.stderr, private readonly verbosity: Verbosity = 'normal') {
    super()
  }

  private clear(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A\x1b[0J`)
    this.drawn = 0
  }

  private liveLines(): string[] {
    const width = Math.max(40, (this.out.columns || 100) - 1)
    const now = Date.now()
    const spin = SPINNER[this.frame % SPINNER.length]
    const items = [...this.items.values()]
    const lines = items.slice(0, MAX_LIVE_LINES).map(item => {
      const elapsed = now - item.startedAt
      let detail = formatElapsed(elapsed)
      if (item.total !== undefined || item.done > 0) {
        const rate = elapsed > 0 ? ` ${formatBytes(Math.round((item.done * 1000) / elapsed))}/s` : ''
        detail = `${formatBytes(item.done)}${item.total ? `/${formatBytes(item.total)}` : ''}${rate} ${detail}`
      }
      const text = `${item.label} ${item.phase ? `${item.phase} ` : ''}${detail}`.slice(0, width - 2)
      return `${colour.cyan(spin)} ${text}`
    })
    if (items.length > MAX_LIVE_LINES) lines.push(colour.dim(`  … and ${items.length - MAX_LIVE_LINES} more`))
    return lines
  }

  private draw(): void {
    this.clear()
    const lines = this.liveLines()
    if (lines.length > 0) this.out.write(`${lines.join('\n')}\n`)
    this.drawn = lines.length
  }

  private start(): void {
    if (this.timer) return
    liveDisplays.add(this)
    restoreCursorOnExit(this.out)
    this.out.write('\x1b[?25l')
    this.timer = setInterval(() => {
      this.frame++
      this.draw()
    }, TICK_MS)
    this.timer.unref()
  }

  /** Clears the live lines and shows the cursor; drawing starts again with the next item. */
  stop(): void {
    if (!this.timer) return
    clearInterval(this.timer)
    this.timer = undefined
    this.clear()
    this.out.write('\x1b[?25h')
    liveDisplays.delete(this)
  }

  private printAbove(line: string): void {
    this.clear()
    this.out.write(`${line}\n`)
    if (this.items.size === 0) this.stop()
    else this.draw()
  }

  info(line: string): void {
    this.printAbove(line)
  }

  warn(line: string): void {
    this.printAbove(`${colour.yellow('warning:')} ${line}`)
  }

  override begin(id: string, label: string, opts: BeginOptions = {}): void {
    super.begin(id, label, opts)
    this.start()
  }

  end(id: string, outcome: string, details?: EndDetails): void {
    const item = this.ended(id)
    if (!showsEnd(item, this.verbosity)) {
      if (this.items.size === 0) this.stop()
      return
    }
    const line = endLine(item, id, outcome, details)
    this.printAbove(outcome === 'failed' || outcome === 'interrupted' ? colour.red(line) : outcome.startsWith('built') ? colour.green(line) : line)
  }

  image(event: ImageTransferred): void {
    this.printAbove(imageLine(event))
  }

  output(id: string, line: string): void {
    this.printAbove(colour.dim(outputLine(id, line)))
  }

  failedOutput(): void {}
}

/**
 * Whether stderr gets the live display: a terminal that is not `TERM=dumb`, without NO_COLOR (no escape
 * sequences at all, https://no-color.org) and not in CI (CI=true: a job log, even on a pseudo-terminal).
 */
export function isLiveTerminal(stream: {isTTY?: boolean}, env: NodeJS.ProcessEnv): boolean {
  if (!stream.isTTY) return false
  if (env.TERM === 'dumb') return false
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  return env.CI === undefined || env.CI === '' || env.CI === 'false'
}

/** The live display on a terminal, plain lines otherwise; --quiet is plain lines everywhere. */
export function createReporter(verbosity: Verbosity = 'normal', env: NodeJS.ProcessEnv = process.env): Reporter {
  if (verbosity !== 'quiet' && isLiveTerminal(process.stderr, env)) return new TtyReporter(process.stderr, verbosity)
  return new LineReporter(process.stderr, verbosity)
}
