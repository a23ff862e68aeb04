import {readdir, readFile} from 'node:fs/promises'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'

import {type ScriptChild, startScriptChild} from '../../helpers/script-child.js'

const SCRIPT = fileURLToPath(new URL('../../helpers/store-writer.mjs', import.meta.url))

export type Child = ScriptChild

/** Run test/helpers/store-writer.mjs with the given arguments. */
export function startWriter(args: string[]): Child {
  return startScriptChild(SCRIPT, [], args)
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
