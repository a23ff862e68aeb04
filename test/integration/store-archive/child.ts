import {fileURLToPath} from 'node:url'

import {type ScriptChild, startScriptChild} from '../../helpers/script-child.js'

const SCRIPT = fileURLToPath(new URL('./archive-child.mjs', import.meta.url))

export type Child = ScriptChild

/** Run archive-child.mjs with these node flags and arguments. */
export function startChild(nodeFlags: string[], args: string[]): Child {
  return startScriptChild(SCRIPT, nodeFlags, args)
}
