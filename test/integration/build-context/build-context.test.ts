import {spawn} from 'node:child_process'
import {copyFile, readdir, readFile, stat, truncate, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {pushBaseImage, runSkopeo} from '../../helpers/base-image.js'
import {freshHome, runSlipway, SLIPWAY_BIN} from '../../helpers/cli.js'
import {makeProject, type TestProject} from '../../helpers/project.js'
import {startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {listTar} from '../../helpers/tar.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'

/** Hosts that share no registry: the stages cache and build_dir travel as images.tar and build.tar. */
describe('dimg build-context export/import', () => {
  let reg: TestRegistry
  let project: TestProject
  let hostA: string
  let exportDir: string
  const cleanup: string[] = []

  const slipway = (home: string, args: string[]) => runSlipway([...args, '--dir', project.dir], {env: {SLIPWAY_HOME: home}})
  const indexOf = (home: string) => readFile(join(home, 'store', 'index.json'), 'utf8')

  beforeAll(async () => {
    reg = await startRegistry('plain')
    await pushBaseImage(reg)
    project = await makeProject({registryHost: reg.host, fromExample: true, name: 'ctx'})
    hostA = freshHome()
    exportDir = await makeTempDir('ctx-export')
    cleanup.push(hostA, exportDir)
    expect((await slipway(hostA, ['dimg', 'build'])).code).toBe(0)
    const exported = await slipway(hostA, ['dimg', 'build-context', 'export', '--build-context-directory', exportDir, '--json'])
    expect(exported.code).toBe(0)
    expect(JSON.parse(exported.stdout).images.stages).toBe(13) // the example's stages: web's from stage is its own (its build_dir mount is signed there)
  })
  afterAll(async () => {
    await reg.stop()
    for (const d of cleanup) await removeTempDir(d)
  })

  it('an empty host imports both archives and builds nothing; build_dir content arrives', async () => {
    // air-gapped: with the registry gone, the build can only use what the archives brought
    await reg.stop()
    const hostB = freshHome()
    cleanup.push(hostB)
    const imported = await slipway(hostB, ['dimg', 'build-context', 'import', '--build-context-directory', exportDir, '--json'])
    expect(imported.code).toBe(0)
    expect(JSON.parse(imported.stdout).images.stages).toHaveLength(13)
    const build = await slipway(hostB, ['dimg', 'build', '--json'])
    expect(build.code).toBe(0)
    expect(JSON.parse(build.stdout).built).toBe(0)
    const history = await readFile(join(hostB, 'build', 'ctx', 'web', 'var__cache__example', 'history'), 'utf8')
    expect(history).toMatch(/^installed at build \d+\n$/)
    expect((await runSlipway(['store', 'verify'], {env: {SLIPWAY_HOME: hostB}})).code).toBe(0)
    // importing again copies nothing
    const again = JSON.parse((await slipway(hostB, ['dimg', 'build-context', 'import', '--build-context-directory', exportDir, '--json'])).stdout)
    expect(again.images.blobsWritten).toBe(0)
  })

  it('skopeo reads images.tar', async () => {
    const index = JSON.parse(await indexOf(hostA)) as {manifests: {annotations: Record<string, string>}[]}
    const name = index.manifests.map(m => m.annotations['org.opencontainers.image.ref.name']).find(n => n.startsWith('dimgstage-ctx:'))!
    const out = await runSkopeo(['inspect', `oci-archive:${join(exportDir, 'images.tar')}:${name}`])
    expect(JSON.parse(out.stdout).Labels['dev.slipway.project']).toBe('ctx')
  })

  it('a truncated or tampered archive is refused with one line and the store unchanged', async () => {
    const hostC = freshHome()
    const bad = await makeTempDir('ctx-bad')
    cleanup.push(hostC, bad)
    await copyFile(join(exportDir, 'build.tar'), join(bad, 'build.tar'))
    const size = (await stat(join(exportDir, 'images.tar'))).size
    // truncated in the middle
    await copyFile(join(exportDir, 'images.tar'), join(bad, 'images.tar'))
    await truncate(join(bad, 'images.tar'), Math.floor(size / 2))
    const truncated = await slipway(hostC, ['dimg', 'build-context', 'import', '--build-context-directory', bad])
    expect(truncated.code).toBe(8)
    expect(truncated.stderr.trim().split('\n')).toHaveLength(1)
    expect(truncated.stderr).toContain('images.tar is truncated or corrupt')
    const emptyIndex = await indexOf(hostC)
    expect(JSON.parse(emptyIndex).manifests).toEqual([])
    // tampered: one byte in the middle of the base layer flipped
    const bytes = await readFile(join(exportDir, 'images.tar'))
    const index = JSON.parse(await indexOf(hostA)) as {manifests: {digest: string}[]}
    const manifest = JSON.parse(await readFile(join(hostA, 'store', 'blobs', 'sha256', index.manifests[0].digest.slice(7)), 'utf8'))
    const layer = await readFile(join(hostA, 'store', 'blobs', 'sha256', manifest.layers[0].digest.slice(7)))
    const at = bytes.indexOf(layer.subarray(0, 64))
    // the layer's bytes are where images.tar's entry for its blob has its content
    expect(at).toBe((await listTar(bytes)).find(e => e.name === `blobs/sha256/${manifest.layers[0].digest.slice(7)}`)!.offset)
    bytes[at + Math.floor(layer.length / 2)] ^= 0xff
    await writeFile(join(bad, 'images.tar'), bytes)
    const tampered = await slipway(hostC, ['dimg', 'build-context', 'import', '--build-context-directory', bad])
    expect(tampered.code).toBe(8)
    expect(tampered.stderr.trim().split('\n')).toHaveLength(1)
    expect(await indexOf(hostC)).toBe(emptyIndex)
    expect((await runSlipway(['store', 'verify'], {env: {SLIPWAY_HOME: hostC}})).code).toBe(0)
  })

  it('a killed import, run again, completes', async () => {
    const hostD = freshHome()
    cleanup.push(hostD)
    const child = spawn(process.execPath, [SLIPWAY_BIN, 'dimg', 'build-context', 'import', '--build-context-directory', exportDir, '--dir', project.dir], {
      env: {...process.env, SLIPWAY_HOME: hostD},
      stdio: 'ignore',
    })
    const closed = new Promise(r => child.on('close', r))
    // killed once it has written its first blobs (an import takes well under a second: a fixed delay can miss it)
    const blobsDir = join(hostD, 'store', 'blobs', 'sha256')
    for (let i = 0; i < 500 && child.exitCode === null; i++) {
      if ((await readdir(blobsDir).catch(() => [])).length >= 3) break
      await new Promise(r => setTimeout(r, 10))
    }
    child.kill('SIGKILL')
    await closed
    expect((await runSlipway(['store', 'verify'], {env: {SLIPWAY_HOME: hostD}})).code).toBe(0)
    const rerun = await slipway(hostD, ['dimg', 'build-context', 'import', '--build-context-directory', exportDir])
    expect(rerun.code).toBe(0)
    expect(JSON.parse((await slipway(hostD, ['dimg', 'build', '--json'])).stdout).built).toBe(0)
  })

  it('says what to do when the archives are missing or nothing is built', async () => {
    const empty = await makeTempDir('ctx-empty')
    const hostE = freshHome()
    cleanup.push(empty, hostE)
    const missing = await slipway(hostE, ['dimg', 'build-context', 'import', '--build-context-directory', empty])
    expect(missing.code).toBe(5)
    expect(missing.stderr).toMatch(/images\.tar does not exist: run `slipway dimg build-context export`/)
    const nothing = await slipway(hostE, ['dimg', 'build-context', 'export', '--build-context-directory', empty])
    expect(nothing.code).toBe(5)
    expect(nothing.stderr).toContain('has no stages of project ctx')
  })
})
