import {type Hook, toConfiguredId} from '@oclif/core'
import levenshtein from 'fast-levenshtein'

import {SlipwayError} from '../errors.js'

/**
 * oclif's command_not_found hook. On a terminal it is @oclif/plugin-not-found's: "Did you mean dimg build?
 * (Y/n)", and a yes runs that command. Elsewhere (a CI log, a script) that plugin says nothing of what was
 * meant, so the suggestion goes into the one usage line every slipway error is (exit 2).
 */
export const commandNotFound: Hook<'command_not_found'> = async function (opts) {
  const {config} = opts
  const hidden = new Set(config.commands.filter(c => c.hidden).map(c => c.id))
  const ids = [...config.commandIDs, ...config.commands.flatMap(c => c.aliases)].filter(id => !hidden.has(id))
  const topic = opts.id.split(':')[0]
  const helpLine = `slipway help${config.findTopic(topic) ? ` ${topic}` : ''} lists the commands`
  const typed = toConfiguredId(opts.id, config)
  const refused = (): never => {
    const suggestion = closest(opts.id, ids)
    throw new SlipwayError('usage', `${typed} is not a slipway command`, {
      hint: suggestion ? `did you mean ${toConfiguredId(suggestion, config)}? (${helpLine})` : helpLine,
    })
  }
  if (!process.stdin.isTTY || !process.stderr.isTTY) return refused()
  // the plugin's own lines (a warning, then "Run slipway help …" as an oclif error) give way to ours
  // its prompt library stays out of the bundle (1 MB): an installed slipway has no node_modules to load it from
  const pluginNotFound = await import('@oclif/plugin-not-found').then(m => m.default, () => undefined)
  if (!pluginNotFound) return refused()
  return pluginNotFound.call({...this, warn: () => {}, error: refused}, opts)
}

/** The command id nearest to what was typed, as the plugin measures it; none when nothing is near. */
function closest(typed: string, ids: string[]): string | undefined {
  const ranked = ids.map(id => ({id, distance: levenshtein.get(typed, id, {useCollator: true})})).sort((a, b) => a.distance - b.distance)
  const best = ranked[0]
  return best && best.distance <= Math.max(2, Math.floor(typed.length / 3)) ? best.id : undefined
}
