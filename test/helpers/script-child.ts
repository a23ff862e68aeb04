import {type ChildProcess, spawn} from 'node:child_process'

export interface ScriptChild {
  process: ChildProcess
  /** Resolves with the first line starting with `prefix`; rejects if the child exits first. */
  waitFor(prefix: string): Promise<string>
  /** Resolves with the exit code (or the signal name) once the process is gone and reaped and its output read. */
  exited: Promise<number | string>
  /** Everything it printed so far, stdout then stderr. */
  output(): string
}

/** Runs a node script (a test child) with these node flags and arguments, watching its output lines; `env` adds to the environment. */
export function startScriptChild(script: string, nodeFlags: string[], args: string[], env: Record<string, string> = {}): ScriptChild {
  const child = spawn(process.execPath, [...nodeFlags, script, ...args], {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, ...env}})
  let out = ''
  let err = ''
  const waiters: {prefix: string; resolve: (l: string) => void; reject: (e: Error) => void}[] = []
  let ended = false
  const check = (): void => {
    // a line counts once its newline came (or the process ended): a pipe may deliver a line in two pieces
    const lines = out.split('\n')
    if (!ended) lines.pop()
    for (const w of [...waiters]) {
      const hit = lines.find(l => l.startsWith(w.prefix))
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
    // 'close', not 'exit': 'exit' may come before the last output is read, and a line printed just
    // before exiting would be missed
    child.on('close', (code, signal) => {
      ended = true
      check()
      for (const w of waiters.splice(0)) w.reject(new Error(`${script} exited (${code ?? signal}) before "${w.prefix}": ${err}`))
      resolve(code ?? signal ?? -1)
    })
  })
  return {
    process: child,
    exited,
    output: () => out + err,
    waitFor: prefix =>
      new Promise((resolve, reject) => {
        waiters.push({prefix, resolve, reject})
        check()
      }),
  }
}
