// Lists the stage images of a slipway store: one line `<store ref name> <signature>` per stage, sorted.
//   node stage-refs.mjs SLIPWAY_HOME
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

const home = process.argv[2]
if (!home) throw new Error('usage: stage-refs.mjs SLIPWAY_HOME')
const index = JSON.parse(readFileSync(join(home, 'store', 'index.json'), 'utf8'))
const lines = []
for (const m of index.manifests ?? []) {
  const name = m.annotations?.['org.opencontainers.image.ref.name'] ?? ''
  const match = /^dimgstage-[^:]+:(.+)$/.exec(name)
  if (match) lines.push(`${name} ${match[1]}`)
}
if (lines.length === 0) throw new Error(`no stage images in ${home}/store`)
process.stdout.write(`${lines.sort().join('\n')}\n`)
