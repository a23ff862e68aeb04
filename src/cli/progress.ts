import type {Reporter} from '../workflows/reporter.js'

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

interface Item {
  label: string
  total?: number
  done: number
  startedAt: number
}

/** Plain lines for logs and pipes: one line when an item ends, nothing in between. */
export class LineReporter implements Reporter {
  private readonly items = new Map<string, Item>()

  constructor(private readonly out: NodeJS.WritableStream = process.stderr, private readonly verbose = true) {}

  get showsOutput(): boolean {
    return this.verbose
  }

  info(line: string): void {
    if (this.verbose) this.out.write(`${line}\n`)
  }

  warn(line: string): void {
    this.out.write(`warning: ${line}\n`)
  }

  begin(id: string, label: string, total?: number): void {
    this.items.set(id, {label, total, done: 0, startedAt: Date.now()})
  }

  progress(id: string, done: number): void {
    const item = this.items.get(id)
    if (item) item.done = done
  }

  end(id: string, outcome: string): void {
    const item = this.items.get(id)
    this.items.delete(id)
    if (!this.verbose) return
    const size = item?.total ? ` (${formatBytes(item.total)})` : ''
    this.out.write(`${item?.label ?? id}${size}: ${outcome}\n`)
  }

  output(id: string, line: string): void {
    if (!this.verbose) return
    const item = this.items.get(id)
    this.out.write(`  ${item ? `[${item.label}] ` : ''}${line}\n`)
  }
}

/**
 * Live rendering for a terminal: one line per running item, redrawn at most every 100 ms, with bytes
 * and rate for transfers; finished items scroll up as plain lines.
 */
export class TtyReporter implements Reporter {
  private readonly items = new Map<string, Item>()
  private drawn = 0
  private timer?: NodeJS.Timeout

  readonly showsOutput = true

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  private clear(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A\x1b[0J`)
    this.drawn = 0
  }

  private draw(): void {
    this.clear()
    const width = Math.max(40, (this.out.columns ?? 100) - 1)
    const now = Date.now()
    const lines: string[] = []
    for (const item of this.items.values()) {
      const secs = (now - item.startedAt) / 1000
      let detail = `${secs.toFixed(1)}s`
      if (item.total !== undefined || item.done > 0) {
        const rate = secs > 0 ? `${formatBytes(item.done / secs)}/s` : ''
        detail = `${formatBytes(item.done)}${item.total ? `/${formatBytes(item.total)}` : ''} ${rate}`
      }
      lines.push(`  ${item.label} … ${detail}`.slice(0, width))
    }
    if (lines.length > 0) this.out.write(`${lines.join('\n')}\n`)
    this.drawn = lines.length
  }

  private schedule(): void {
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.draw()
    }, 100)
    this.timer.unref()
  }

  private printAbove(line: string): void {
    this.clear()
    this.out.write(`${line}\n`)
    this.draw()
  }

  info(line: string): void {
    this.printAbove(line)
  }

  warn(line: string): void {
    this.printAbove(`warning: ${line}`)
  }

  begin(id: string, label: string, total?: number): void {
    this.items.set(id, {label, total, done: 0, startedAt: Date.now()})
    this.schedule()
  }

  progress(id: string, done: number): void {
    const item = this.items.get(id)
    if (!item) return
    item.done = done
    this.schedule()
  }

  end(id: string, outcome: string): void {
    const item = this.items.get(id)
    this.items.delete(id)
    const size = item?.total ? ` (${formatBytes(item.total)})` : ''
    this.printAbove(`${item?.label ?? id}${size}: ${outcome}`)
  }

  output(id: string, line: string): void {
    const item = this.items.get(id)
    this.printAbove(`  ${item ? `[${item.label}] ` : ''}${line}`)
  }
}

/** TTY rendering when stderr is a terminal, plain lines otherwise; `quiet` keeps only warnings. */
export function createReporter(opts: {quiet?: boolean} = {}): Reporter {
  if (!opts.quiet && process.stderr.isTTY && !process.env.CI) return new TtyReporter(process.stderr)
  return new LineReporter(process.stderr, !opts.quiet)
}
