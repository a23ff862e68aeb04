// What Node.js itself needs to receive blobs through undici, all at once in one process: no CLI start-up,
// no planning, no disk writes. With --hash every blob is also sha256-hashed and checked, which any client
// that keeps content-addressed blobs must do. Prints the seconds from the first request to the last byte.
//   node node-floor.mjs [--hash] http://HOST/v2/REPO sha256-hex...
import {createHash} from 'node:crypto'
import {createRequire} from 'node:module'
import {setFlagsFromString} from 'node:v8'

setFlagsFromString('--liftoff-only') // as slipway runs undici (src/registry/http.ts)
const {Agent} = createRequire(new URL('../../package.json', import.meta.url))('undici')

const args = process.argv.slice(2)
const hash = args[0] === '--hash'
const [base, ...blobs] = hash ? args.slice(1) : args
if (!base || blobs.length === 0) throw new Error('usage: node-floor.mjs [--hash] http://HOST/v2/REPO DIGEST_HEX...')

const agent = new Agent({connections: 64})
const url = new URL(base)
const started = performance.now()
await Promise.all(blobs.map(async hex => {
  const res = await agent.request({origin: url.origin, path: `${url.pathname}/blobs/sha256:${hex}`, method: 'GET'})
  if (res.statusCode !== 200) throw new Error(`GET blob ${hex}: HTTP ${res.statusCode}`)
  const digester = hash ? createHash('sha256') : undefined
  for await (const chunk of res.body) digester?.update(chunk)
  if (digester && digester.digest('hex') !== hex) throw new Error(`blob ${hex} does not match its digest`)
}))
console.log(((performance.now() - started) / 1000).toFixed(3))
await agent.close()
