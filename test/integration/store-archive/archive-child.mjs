// Child process for the archive tests. Runs the TypeScript sources directly: an inline module hook maps
// `./x.js` imports to `./x.ts` and transpiles them with the project's TypeScript (as test/helpers/store-writer.mjs).
//
//   node archive-child.mjs import ROOT ARCHIVE DELAY_MS         import ARCHIVE, reading 64 KiB every DELAY_MS
//   node --expose-gc archive-child.mjs memory SRC NAME ARCHIVE DST   export NAME from SRC, import into DST, report RSS
// It prints `ready` when the interesting part started, and `done <json>` when finished.
import {createReadStream} from 'node:fs'
import {createRequire, register} from 'node:module'
import {Readable} from 'node:stream'
import {pathToFileURL} from 'node:url'

const require = createRequire(import.meta.url)
const hooks = `
let ts
export async function initialize(data) { ts = (await import(data.typescript)).default }
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context)
  } catch (e) {
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      return next(specifier.slice(0, -3) + '.ts', context)
    }
    throw e
  }
}
export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context)
  const {readFile} = await import('node:fs/promises')
  const source = await readFile(new URL(url), 'utf8')
  const out = ts.transpileModule(source, {
    fileName: url,
    compilerOptions: {module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true},
  })
  return {format: 'module', source: out.outputText, shortCircuit: true}
}
`
register(`data:text/javascript,${encodeURIComponent(hooks)}`, {
  data: {typescript: pathToFileURL(require.resolve('typescript')).href},
})

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
