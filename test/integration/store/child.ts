import {type ChildProcess, spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'

const SCRIPT = fileURLToPath(new URL('../../helpers/store-writer.mjs', import.meta.url))

export interface Child {
  process: ChildProcess
  /** Resolves when the child printed `line` (or a line starting with it); rejects if it exits first. */
  waitFor(line: string): Promise<string>
  /** Resolves with the exit code (or the signal name) once the process is gone and reaped. */
  exited: Promise<number | string>
  output(): string
}

/** Run test/helpers/store-writer.mjs with the given arguments. */
export function startWriter(args: string[]): Child {
  const child = spawn(process.execPath, [SCRIPT, ...args], {stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  let err = ''
  const waiters: {line: string; resolve: (l: string) => void; reject: (e: Error) => void}[] = []
  const check = (): void => {
    for (const w of [...waiters]) {
      const hit = out.split('\n').find(l => l.startsWith(w.line))
      if (hit !== undefined) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(hit)
      }
    }
  }
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString()
    check()
  })
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString()
  })
  const exited = new Promise<number | string>(resolve => {
    child.on('exit', (code, signal) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`writer exited (${code ?? signal}) before "${w.line}": ${err}`))
      resolve(code ?? signal ?? -1)
    })
  })
  return {
    process: child,
    exited,
    output: () => out + err,
    waitFor: line => new Promise((resolve, reject) => {
      waiters.push({line, resolve, reject})
      check()
    }),
  }
}
