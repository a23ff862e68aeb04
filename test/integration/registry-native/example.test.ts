import {type TestRegistry, useRegistry} from '../../helpers/registry.js'
import {measureTraffic, registryTraffic, markTraffic, storedManifest} from '../../helpers/registry-traffic.js'
import {builtStages, type BpJson, dimgReport, inspect, layersBuiltOn, runFromRegistry, runners, STAGE_TAG_PREFIX, stageTags} from './support.js'

/**
 * Issue 15, "Done when", on the example project (fixtures/example: artifact assets, dimgs web and worker):
 * host A builds and pushes the stages; then every run is an empty CI runner (a fresh SLIPWAY_HOME) doing
 * `dimg bp --with-stages REPO`, and what it downloaded is counted from the registry's access log.
 */
describe('registry-native bp on an empty runner: the example project', () => {
  const setup = useRegistry({base: true, project: {fromExample: true, name: 'example'}})
  const run = runners()
  const repoPath = 'example'
  let repo: string
  let first: BpJson

  beforeAll(async () => {
    repo = `${setup.reg.host}/${repoPath}`
    first = await run.bp(setup.project, repo) // host A
  })
  afterAll(async () => {
    await run.cleanup()
  })

  it('with nothing changed, builds 0 stages, downloads no layer bytes, and the final images are there', async () => {
    const {result: bp, traffic} = await measureTraffic(setup.reg, () => run.bp(setup.project, repo))
    expect(bp.build.built).toBe(0)
    for (const d of bp.build.dimgs) expect({dimg: d.name, statuses: [...new Set(d.stages.map(s => s.status))]}).toEqual({dimg: d.name, statuses: ['cached-remote']})
    expect(traffic.layersDownloaded).toEqual([])
    expect(traffic.layerBytesDownloaded).toBe(0)
    expect(traffic.layerBytesUploaded).toBe(0)
    // every final tag already names the image this run makes: no blob is checked, no manifest written
    expect({blobHeads: traffic.blobHeads, manifestPuts: traffic.manifestPuts}).toEqual({blobHeads: 0, manifestPuts: 0})
    // stages found in REPO are reported as being there, not as missing from this host
    expect([...new Set(bp.push.stages.map(s => s.status))]).toEqual(['exists'])
    // the final images are the ones host A made, byte for byte
    for (const image of first.push.images) expect({image: image.image, digest: (await inspect(image.image)).Digest}).toEqual({image: image.image, digest: image.digest})
    expect(bp.push.images.map(i => [i.image, i.digest]).sort()).toEqual(first.push.images.map(i => [i.image, i.digest]).sort())
    expect(await runFromRegistry(setup.reg, `${repo}/worker:latest`)).toMatch(/^worker example: 1 files in \/app, running as root/)
  })

  it('after a commit that changes only git-mapped source files, downloads no layer bytes, pushes the new stage tags, and the images run the new files', async () => {
    const before = await stageTags(setup.reg, repoPath)
    await setup.project.commit('worker v2, a VERSION file for the server', {
      'worker/worker.sh': {content: '#!/bin/sh\necho "worker v2"\n', mode: 0o755},
      'server/VERSION': '2\n',
    })
    const {result: bp, traffic} = await measureTraffic(setup.reg, () => run.bp(setup.project, repo))
    // outside every stageDependencies: only the git patch and docker stages are new
    expect(builtStages(bp)).toEqual({assets: [], web: ['gitLatestPatch', 'docker'], worker: ['gitLatestPatch', 'docker']})
    expect(traffic.layersDownloaded).toEqual([])
    expect(traffic.layerBytesDownloaded).toBe(0)
    const added = (await stageTags(setup.reg, repoPath)).filter(t => !before.includes(t))
    const builtSignatures = bp.build.dimgs.flatMap(d => d.stages.filter(s => s.status === 'built').map(s => `${STAGE_TAG_PREFIX}${s.signature}`))
    expect(added.sort()).toEqual(builtSignatures.sort())

    expect(await runFromRegistry(setup.reg, `${repo}/worker:latest`)).toBe('worker v2\n')
    expect(await runFromRegistry(setup.reg, `${repo}/web:latest`, ['cat', '/app/VERSION'])).toBe('2\n')
    const web = await inspect(`${repo}/web:latest`)
    expect(web.Labels?.['dev.slipway.final.stage-signature']).toBe(dimgReport(bp, 'web').signature)
    expect(web.Labels?.['org.opencontainers.image.title']).toBe('slipway-example-web')
  })

  it('after a stageDependencies change, downloads only the layers of the images the rebuilt stages stand on', async () => {
    await setup.project.commit('httpd serves .txt too', {'server/httpd.conf': '# busybox httpd configuration\n.html:text/html\n.css:text/css\n.txt:text/plain\n'})
    const {result: bp, traffic} = await measureTraffic(setup.reg, () => run.bp(setup.project, repo))
    expect(builtStages(bp).web[0]).toBe('install')
    expect(builtStages(bp).assets).toEqual([])
    // web's install stands on web's gitArchive; its importsAfterInstall, built again, reads the assets artifact
    const expected = await layersBuiltOn(setup.reg, repoPath, bp, {web: ['assets']})
    const web = dimgReport(bp, 'web')
    const gitArchive = web.stages[web.stages.findIndex(s => s.name === 'install') - 1]
    expect(gitArchive.name).toBe('gitArchive')
    expect(expected).toEqual(expect.arrayContaining((await storedManifest(setup.reg, repoPath, `${STAGE_TAG_PREFIX}${gitArchive.signature}`)).layers!.map(l => l.digest)))
    expect(traffic.layersDownloaded).toEqual(expected)
    // each of them once
    for (const digest of expected) expect({digest, gets: traffic.blobs[digest].gets}).toEqual({digest, gets: 1})
    expect(await runFromRegistry(setup.reg, `${repo}/web:latest`, ['cat', '/etc/httpd.conf'])).toContain('.txt:text/plain')
  })

  it('two empty runners at once after a source-only commit: neither downloads a layer, first writer wins, a third builds nothing', async () => {
    await setup.project.commit('worker v3', {'worker/worker.sh': {content: '#!/bin/sh\necho "worker v3"\n', mode: 0o755}})
    const before = await stageTags(setup.reg, repoPath)
    const mark = await markTraffic(setup.reg)
    const results = await Promise.all([run.startBp(setup.project, repo), run.startBp(setup.project, repo)].map(r => r.result))
    for (const r of results) expect({code: r.code, stderr: r.code === 0 ? '' : r.stderr}).toEqual({code: 0, stderr: ''})
    const traffic = await registryTraffic(setup.reg, mark)
    expect(traffic.layersDownloaded).toEqual([])
    const [x, y] = results.map(r => JSON.parse(r.stdout) as BpJson)
    expect(dimgReport(x, 'worker').signature).toBe(dimgReport(y, 'worker').signature)
    // which runner builds what depends on which looks first: each builds the new stages the other has not
    // pushed yet (a tail of the two), and between them both are built
    for (const report of [x, y]) expect([[], ['docker'], ['gitLatestPatch', 'docker']]).toContainEqual(builtStages(report).worker)
    expect([...new Set([x, y].flatMap(r => builtStages(r).worker))].sort()).toEqual(['docker', 'gitLatestPatch'])
    // one manifest per new stage tag, whole: every blob it names is in the registry
    const added = (await stageTags(setup.reg, repoPath)).filter(t => !before.includes(t))
    const newStages = dimgReport(x, 'worker').stages.filter(s => ['gitLatestPatch', 'docker'].includes(s.name))
    expect(added.sort()).toEqual(newStages.map(s => `${STAGE_TAG_PREFIX}${s.signature}`).sort())
    for (const tag of added) {
      const m = await storedManifest(setup.reg, repoPath, tag)
      expect(await registryHas(setup.reg, repoPath, m.config!.digest)).toBe(true)
      for (const l of m.layers!) expect(await registryHas(setup.reg, repoPath, l.digest)).toBe(true)
    }
    expect(await runFromRegistry(setup.reg, `${repo}/worker:latest`)).toBe('worker v3\n')

    const {result: third, traffic: thirdTraffic} = await measureTraffic(setup.reg, () => run.bp(setup.project, repo))
    expect(third.build.built).toBe(0)
    expect(thirdTraffic.layersDownloaded).toEqual([])
  })

  it('a runner killed in the middle, then an empty runner: it finishes the job and the next builds nothing', async () => {
    await setup.project.commit('worker v4', {'worker/worker.sh': {content: '#!/bin/sh\necho "worker v4"\n', mode: 0o755}})
    const before = await stageTags(setup.reg, repoPath)
    const killed = run.startBp(setup.project, repo)
    // killed as soon as its first new stage tag is in the registry, before the final images
    while ((await stageTags(setup.reg, repoPath)).length === before.length && killed.child.exitCode === null) await new Promise(r => setTimeout(r, 20))
    killed.child.kill('SIGKILL')
    await killed.result
    const again = await run.bp(setup.project, repo)
    expect(builtStages(again).worker.every(s => ['gitLatestPatch', 'docker'].includes(s))).toBe(true)
    expect(await runFromRegistry(setup.reg, `${repo}/worker:latest`)).toBe('worker v4\n')
    const {result: next, traffic} = await measureTraffic(setup.reg, () => run.bp(setup.project, repo))
    expect(next.build.built).toBe(0)
    expect(traffic.layersDownloaded).toEqual([])
  })
})

/** HEAD of a blob in REPO: does the registry serve it there? */
async function registryHas(reg: TestRegistry, repoPath: string, digest: string): Promise<boolean> {
  return (await fetch(`${reg.url}/v2/${repoPath}/blobs/${digest}`, {method: 'HEAD'})).status === 200
}
