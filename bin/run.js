#!/usr/bin/env node
// The CLI is one bundled script, dist/slipway.cjs (scripts/bundle.mjs). Compiling it is most of a command's
// start-up, so it is loaded through V8's code cache: the first run on a machine saves the compiled code
// (with every function that run used) under the user's cache directory, later runs skip the compile.
// The cache is only an optimisation: any problem with it falls back to compiling. SLIPWAY_CODE_CACHE=0 turns it off.
import {existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync} from 'node:fs'
import {createRequire, Module} from 'node:module'
import {homedir} from 'node:os'
import {basename, dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {setFlagsFromString} from 'node:v8'
import vm from 'node:vm'

const bundle = fileURLToPath(new URL('../dist/slipway.cjs', import.meta.url))
const require = createRequire(bundle)

/**
 * One cache file per command (and per dry run of it), bundle build and Node.js version: a command's cache
 * holds the functions that command runs, and V8 itself checks only the source's length and its own flags.
 */
function cachePath() {
  if (process.env.SLIPWAY_CODE_CACHE === '0') return undefined
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  const {size, mtimeMs} = statSync(bundle)
  const words = []
  for (const arg of process.argv.slice(2)) {
    if (!/^[a-z][a-z-]*$/.test(arg) || words.length === 4) break
    words.push(arg)
  }
  // a dry run compiles only the planning half of its command: its cache must not stand in for a real run's
  const command = (words.join('-') || 'root') + (process.argv.includes('--dry-run') ? '--dry-run' : '')
  return join(base, 'slipway', `${process.version}-${process.arch}-${size}-${Math.floor(mtimeMs)}`, `${command}.v8`)
}

function saveCache(path, script) {
  const tmp = `${path}.${process.pid}.tmp`
  try {
    mkdirSync(dirname(path), {recursive: true})
    writeFileSync(tmp, script.createCachedData())
    renameSync(tmp, path)
    // caches of earlier builds (or other Node.js versions) are of no more use, nor what killed runs left;
    // the directory is oclif's cache directory too (autocomplete keeps its scripts there): only builds go
    const builds = dirname(dirname(path))
    for (const other of readdirSync(builds)) {
      if (/^v\d+\.\d+\.\d+-/.test(other) && other !== basename(dirname(path))) rmSync(join(builds, other), {recursive: true, force: true})
    }
    for (const name of readdirSync(dirname(path))) {
      const file = join(dirname(path), name)
      if (name.endsWith('.tmp') && Date.now() - statSync(file).mtimeMs > 60_000) rmSync(file, {force: true})
    }
  } catch {
    try { unlinkSync(tmp) } catch {}
  }
}

function loadWithCodeCache() {
  let path
  let cachedData
  try {
    path = cachePath()
    if (path) cachedData = readFileSync(path)
  } catch {}
  const script = new vm.Script(Module.wrap(readFileSync(bundle, 'utf8')), {
    filename: bundle,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  const mod = new Module(bundle)
  mod.filename = bundle
  mod.paths = require.resolve.paths('@oclif/core') ?? []
  script.runInThisContext().call(mod.exports, mod.exports, require, mod, bundle, dirname(bundle))
  mod.loaded = true
  // oclif require()s the commands target (this bundle): it must get this module, not load a second copy
  require.cache[bundle] = mod
  if (path && (!cachedData || script.cachedDataRejected)) process.once('exit', () => saveCache(path, script))
  return mod.exports
}

// Set before anything is compiled: V8 rejects a code cache made under other flags, and the registry client
// sets this one anyway (src/registry/http.ts explains why)
setFlagsFromString('--liftoff-only')

// --debug (or SLIPWAY_DEBUG=1): stack traces point into src/ through the bundle's source map, so load it the ordinary way
const debug = process.argv.includes('--debug') || process.env.SLIPWAY_DEBUG === '1'
if (debug) process.setSourceMapsEnabled(true)
if (!existsSync(bundle)) {
  process.stderr.write(`slipway: ${bundle} is missing: run \`npm run build\` in ${dirname(dirname(bundle))}\n`)
  process.exit(1)
}
const {main} = debug ? require(bundle) : loadWithCodeCache()
await main(import.meta.url)
