import {type ChildProcess, spawn} from 'node:child_process'
import {readdir, readFile} from 'node:fs/promises'
import {setTimeout as sleep} from 'node:timers/promises'

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

/** Whether every thread of process `pid` is stopped (state T in /proc): then it writes nothing more. */
async function allStopped(pid: number): Promise<boolean> {
  const tasks = await readdir(`/proc/${pid}/task`)
  const states = await Promise.all(tasks.map(async t => /\) (\S)/.exec(await readFile(`/proc/${pid}/task/${t}/stat`, 'utf8'))?.[1]))
  if (states.some(s => s === 'Z' || s === 'X')) throw new Error(`process ${pid} ended`)
  return states.every(s => s === 'T' || s === 't')
}

/**
 * SIGKILLs a child at a moment when `probe` finds what it looks for. Polling alone leaves a gap between the
 * probe and the kill in which the child goes on writing (a loaded machine can stall the test for a second);
 * so on a hit the child is stopped (SIGSTOP, and every thread of it seen stopped) and probed again: what the
 * test finds after the kill is then what that second probe found. A hit gone by then lets the child go on
 * (SIGCONT). Resolves with the second probe's value.
 */
export async function killWhen<T>(child: ScriptChild, what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const pid = child.process.pid!
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) throw new Error(`the child ended before ${what}`)
    if ((await probe()) !== undefined) {
      process.kill(pid, 'SIGSTOP')
      while (!(await allStopped(pid))) await sleep(1)
      const held = await probe()
      if (held !== undefined) {
        child.process.kill('SIGKILL')
        return held
      }
      process.kill(pid, 'SIGCONT')
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}
