import {fileURLToPath} from 'node:url'

import {type ScriptChild, startScriptChild} from '../../helpers/script-child.js'

const SCRIPT = fileURLToPath(new URL('../../helpers/store-writer.mjs', import.meta.url))

export type Child = ScriptChild

/** Run test/helpers/store-writer.mjs with the given arguments. */
export function startWriter(args: string[]): Child {
  return startScriptChild(SCRIPT, [], args)
}
