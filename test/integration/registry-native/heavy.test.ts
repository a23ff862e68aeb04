import {HEAVY_BASE_DATA_BYTES, HEAVY_DIR} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {measureTraffic, type RegistryTraffic, storedManifest} from '../../helpers/registry-traffic.js'
import {builtStages, type BpJson, dimgReport, inspect, layerOwners, layersBuiltOn, runFromRegistry, runners, STAGE_TAG_PREFIX, stageLayers, stageTags} from './support.js'

const MiB = 1024 * 1024

/**
 * Issue 15, "Done when", on fixtures/heavy: a base image carrying an 8 MiB random layer (base/heavy) and
 * stages adding 64 MiB (beforeInstall), 24 MiB (install, stageDependencies: deps.txt) and 8 MiB (setup)
 * of random data. The 64 MiB layer is the "big stage layer" of the upload-once check: random, so gzip
 * cannot shrink it, and a quarter of the 200 MiB to keep the run time modest (the wire-once
 * property does not depend on the size). Host A's bp is measured; every later run is an empty runner.
 */
describe('registry-native bp on an empty runner: a multi-MiB base layer and ~100 MiB of stage layers', () => {
  const setup = useRegistry({base: {repoPath: 'base/heavy', dataBytes: HEAVY_BASE_DATA_BYTES}, project: {fromDir: HEAVY_DIR, name: 'heavy'}, timeoutMs: 120_000})
  const run = runners()
  const repoPath = 'heavy'
  let repo: string
  let first: BpJson
  let firstTraffic: RegistryTraffic
  let baseLayers: string[]

  beforeAll(async () => {
    baseLayers = (await storedManifest(setup.reg, 'base/heavy', 'latest')).layers!.map(l => l.digest)
    repo = `${setup.reg.host}/${repoPath}`
    ;({result: first, traffic: firstTraffic} = await measureTraffic(setup.reg, () => run.bp(setup.project, repo))) // host A
  }, 300_000)
  afterAll(async () => {
    await run.cleanup()
  })

  it('a bp --with-stages sends every layer up once: the 64 MiB stage layer crosses the wire once, not for the final image again', async () => {
    const heavy = dimgReport(first, 'heavy')
    expect(heavy.stages.every(s => s.status === 'built')).toBe(true)
    const beforeInstall = heavy.stages.find(s => s.name === 'beforeInstall')!
    const big = (await storedManifest(setup.reg, repoPath, `${STAGE_TAG_PREFIX}${beforeInstall.signature}`)).layers!.at(-1)!
    expect(big.size).toBeGreaterThan(64 * MiB)
    expect((await inspect(`${repo}/heavy:latest`)).Layers).toContain(big.digest)
    expect(firstTraffic.blobs[big.digest]).toMatchObject({uploads: 1, bytesUploaded: big.size})
    // every layer of the stages and the final image went up at most once; the base's were mounted or known
    const stageLayerSizes = new Map<string, number>()
    for (const tag of await stageTags(setup.reg, repoPath)) for (const l of (await storedManifest(setup.reg, repoPath, tag)).layers!) stageLayerSizes.set(l.digest, l.size)
    for (const digest of firstTraffic.layersUploaded) expect({digest, uploads: firstTraffic.blobs[digest].uploads}).toEqual({digest, uploads: 1})
    const ownLayerBytes = [...stageLayerSizes].filter(([d]) => !baseLayers.includes(d)).reduce((n, [, size]) => n + size, 0)
    expect(ownLayerBytes).toBeGreaterThan(96 * MiB)
    expect(firstTraffic.layerBytesUploaded).toBe(ownLayerBytes)
    for (const digest of baseLayers) expect(firstTraffic.blobs[digest]?.uploads ?? 0).toBe(0)
  })

  it('with nothing changed, builds 0 stages, downloads no layer bytes, and the final image is there', async () => {
    const {result: bp, traffic} = await measureTraffic(setup.reg, () => run.bp(setup.project, repo))
    expect(bp.build.built).toBe(0)
    expect([...new Set(dimgReport(bp, 'heavy').stages.map(s => s.status))]).toEqual(['cached-remote'])
    expect(traffic.layersDownloaded).toEqual([])
    expect(traffic.layerBytesDownloaded).toBe(0)
    expect(traffic.layerBytesUploaded).toBe(0)
    expect((await inspect(`${repo}/heavy:latest`)).Digest).toBe(first.push.images[0].digest)
  })

  it('after a commit that changes only git-mapped files, downloads no layer bytes (owner names from recorded ids), and the image runs the new files', async () => {
    const before = await stageTags(setup.reg, repoPath)
    await setup.project.commit('main v2', {'src/main.txt': 'heavy v2\n', 'src/added.txt': 'added in v2\n'})
    const {result: bp, traffic} = await measureTraffic(setup.reg, () => run.bp(setup.project, repo))
    expect(builtStages(bp)).toEqual({heavy: ['gitLatestPatch', 'docker']})
    expect(traffic.layersDownloaded).toEqual([])
    expect(traffic.layerBytesDownloaded).toBe(0)
    const added = (await stageTags(setup.reg, repoPath)).filter(t => !before.includes(t))
    expect(added.sort()).toEqual(dimgReport(bp, 'heavy').stages.filter(s => s.status === 'built').map(s => `${STAGE_TAG_PREFIX}${s.signature}`).sort())
    expect(await runFromRegistry(setup.reg, `${repo}/heavy:latest`)).toBe('heavy v2\ndeps v1\n')
    // the patch's files belong to nobody:nogroup, as the base's /etc/passwd and /etc/group say
    const patch = dimgReport(bp, 'heavy').stages.find(s => s.name === 'gitLatestPatch')!
    const owners = await layerOwners(setup.reg, (await stageLayers(setup.reg, repoPath, patch.signature)).at(-1)!)
    expect(owners.filter(o => /app\/(main|added)\.txt$/.test(o)).sort()).toEqual(['65534:65534 app/added.txt', '65534:65534 app/main.txt'])
  })

  it('after a stageDependencies change, downloads exactly the layers of the image install stands on', async () => {
    await setup.project.commit('deps v2', {'src/deps.txt': 'deps v2\n'})
    const {result: bp, traffic} = await measureTraffic(setup.reg, () => run.bp(setup.project, repo))
    const heavy = dimgReport(bp, 'heavy')
    expect(builtStages(bp).heavy[0]).toBe('install')
    const parent = heavy.stages[heavy.stages.findIndex(s => s.name === 'install') - 1]
    const parentLayers = (await stageLayers(setup.reg, repoPath, parent.signature)).sort()
    expect(await layersBuiltOn(setup.reg, repoPath, bp)).toEqual(parentLayers)
    expect(traffic.layersDownloaded).toEqual(parentLayers)
    for (const digest of parentLayers) expect({digest, gets: traffic.blobs[digest].gets}).toEqual({digest, gets: 1})
    // the base's layers, the 64 MiB layer and the git archive: not the old install or setup layers
    expect(parentLayers).toEqual(expect.arrayContaining(baseLayers))
    expect(traffic.layerBytesDownloaded).toBeLessThan(80 * MiB)
    expect(await runFromRegistry(setup.reg, `${repo}/heavy:latest`)).toBe('heavy v2\ndeps v2\n')
  })
})
