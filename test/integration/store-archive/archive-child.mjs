// Child process for the archive tests. Runs the TypeScript sources directly through
// test/helpers/ts-loader.mjs.
//
//   node archive-child.mjs import ROOT ARCHIVE DELAY_MS         import ARCHIVE, reading 64 KiB every DELAY_MS
//   node --expose-gc archive-child.mjs memory SRC NAME ARCHIVE DST   export NAME from SRC, import into DST, report RSS
// It prints `ready` when the interesting part started, and `done <json>` when finished.
import {createReadStream} from 'node:fs'
import {Readable} from 'node:stream'
import '../../helpers/ts-loader.mjs'

const {OciStore, exportArchive, importArchive} = await import(new URL('../../../src/store/index.ts', import.meta.url).href)

const [command, ...args] = process.argv.slice(2)
const say = line => process.stdout.write(`${line}\n`)

if (command === 'import') {
  const [root, archive, delay] = [args[0], args[1], Number(args[2])]
  const store = await OciStore.open(root)
  let first = true
  const slow = Readable.from((async function* () {
    for await (const chunk of createReadStream(archive, {highWaterMark: 64 * 1024})) {
      yield chunk
      if (first) say('ready')
      first = false
      await new Promise(r => setTimeout(r, delay))
    }
  })())
  const result = await importArchive(store, slow, {label: 'images.tar'})
  say(`done ${JSON.stringify(result)}`)
} else if (command === 'memory') {
  const [src, name, archive, dst] = args
  const source = await OciStore.open(src)
  const target = await OciStore.open(dst)
  globalThis.gc()
  const baseline = process.memoryUsage().rss
  let peak = baseline
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 10)
  say('ready')
  let progressCalls = 0
  const exported = await exportArchive(source, [name], archive, {onProgress: () => progressCalls++})
  const peakExport = peak
  const imported = await importArchive(target, archive, {onProgress: () => progressCalls++})
  clearInterval(sampler)
  peak = Math.max(peak, process.memoryUsage().rss)
  say(`done ${JSON.stringify({baseline, peakExport, peak, exported, imported, progressCalls})}`)
} else {
  throw new Error(`unknown command ${command}`)
}
