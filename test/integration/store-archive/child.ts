import {type ChildProcess, spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'

const SCRIPT = fileURLToPath(new URL('./archive-child.mjs', import.meta.url))

export interface Child {
  process: ChildProcess
  /** Resolves with the first line starting with `prefix`; rejects if the child exits first. */
  waitFor(prefix: string): Promise<string>
  /** The exit code, or the signal's name. */
  exited: Promise<number | string>
}

/** Run archive-child.mjs with these node flags and arguments. */
export function startChild(nodeFlags: string[], args: string[]): Child {
  const child = spawn(process.execPath, [...nodeFlags, SCRIPT, ...args], {stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  let err = ''
  const waiters: {prefix: string; resolve: (l: string) => void; reject: (e: Error) => void}[] = []
  const check = (): void => {
    for (const w of [...waiters]) {
      const hit = out.split('\n').find(l => l.startsWith(w.prefix))
      if (hit === undefined) continue
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve(hit)
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
      check()
      for (const w of waiters.splice(0)) w.reject(new Error(`child exited (${code ?? signal}) before "${w.prefix}": ${err}`))
      resolve(code ?? signal ?? -1)
    })
  })
  return {
    process: child,
    exited,
    waitFor: prefix => new Promise((resolve, reject) => {
      waiters.push({prefix, resolve, reject})
      check()
    }),
  }
}
