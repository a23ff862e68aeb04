import {existsSync} from 'node:fs'
import {mkdir, readdir, readFile, stat, utimes, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import {freshHome, runSlipway} from '../../helpers/cli.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'

/** The code cache files under XDG_CACHE_HOME, by command name. */
async function cacheFiles(cacheHome: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const root = join(cacheHome, 'slipway')
  for (const build of await readdir(root).catch(() => [] as string[])) {
    for (const f of await readdir(join(root, build))) out.set(f, join(root, build, f))
  }
  return out
}

describe('bin/run.js: the bundle loaded through V8 code cache', () => {
  let cacheHome: string
  let home: string
  beforeEach(async () => {
    cacheHome = await makeTempDir('code-cache')
    home = freshHome()
  })
  afterEach(async () => {
    await removeTempDir(cacheHome)
    await removeTempDir(home)
  })

  const run = (args: string[], env: Record<string, string> = {}) => runSlipway(args, {env: {SLIPWAY_HOME: home, XDG_CACHE_HOME: cacheHome, ...env}})

  it('the first run of a command saves its cache, later runs use it and leave it alone', async () => {
    // what an earlier build left behind goes when this build saves its first cache
    const stale = join(cacheHome, 'slipway', 'v20.0.0-x64-1-1')
    await mkdir(stale, {recursive: true})
    await writeFile(join(stale, 'image-pull.v8'), 'old')
    // a registry that refuses connections: the run still loads the registry client (which sets V8 flags)
    const pull = ['image', 'pull', '127.0.0.1:9/nothing:1']
    expect((await run(pull)).code).not.toBe(0)
    const files = await cacheFiles(cacheHome)
    expect([...files.keys()]).toEqual(['image-pull.v8'])
    expect(await readdir(join(cacheHome, 'slipway'))).toHaveLength(1)
    // a temporary file of a run killed while saving, an hour ago: gone at the next save
    const leftover = join(dirname(files.get('image-pull.v8')!), 'store-verify.v8.12345.tmp')
    await writeFile(leftover, 'partial')
    await utimes(leftover, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000))
    expect(files.get('image-pull.v8')!.startsWith(stale)).toBe(false)
    const before = await stat(files.get('image-pull.v8')!)
    expect(before.size).toBeGreaterThan(100_000)
    // a cache V8 rejects (made under other flags, or for another build) would be written again by every run
    const again = await run(pull)
    expect(again.stderr).toMatch(/^slipway: /)
    expect((await stat(files.get('image-pull.v8')!)).mtimeMs).toBe(before.mtimeMs)
    expect((await run(['store', 'verify'])).code).toBe(0)
    expect([...(await cacheFiles(cacheHome)).keys()].sort()).toEqual(['image-pull.v8', 'store-verify.v8'])
    expect(existsSync(leftover)).toBe(false)
  })

  it('a damaged cache file is ignored and replaced; SLIPWAY_CODE_CACHE=0 writes none', async () => {
    expect((await run(['image', 'list'])).code).toBe(0)
    const file = (await cacheFiles(cacheHome)).get('image-list.v8')!
    await writeFile(file, Buffer.alloc(4096, 7))
    const r = await run(['image', 'list', '--json'])
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual([])
    expect((await readFile(file)).subarray(0, 4096).equals(Buffer.alloc(4096, 7))).toBe(false)

    const off = await makeTempDir('code-cache-off')
    try {
      expect((await runSlipway(['image', 'list'], {env: {SLIPWAY_HOME: home, XDG_CACHE_HOME: off, SLIPWAY_CODE_CACHE: '0'}})).code).toBe(0)
      expect((await cacheFiles(off)).size).toBe(0)
    } finally {
      await removeTempDir(off)
    }
  })

  it('a dry run keeps its own cache: it would lack everything the real run compiles', async () => {
    expect((await run(['store', 'gc', '--dry-run'])).code).toBe(0)
    expect([...(await cacheFiles(cacheHome)).keys()]).toEqual(['store-gc--dry-run.v8'])
    expect((await run(['store', 'gc'])).code).toBe(0)
    expect([...(await cacheFiles(cacheHome)).keys()].sort()).toEqual(['store-gc--dry-run.v8', 'store-gc.v8'])
  })

  it('an unwritable cache directory changes nothing for the user', async () => {
    await writeFile(join(cacheHome, 'slipway'), 'a file where the directory should be')
    const r = await run(['image', 'list', '--json'])
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual([])
  })
})
