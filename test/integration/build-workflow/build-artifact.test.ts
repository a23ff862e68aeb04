/** Issue 17: dapp's buildArtifact stage (shell.buildArtifact, buildArtifactCacheVersion, stageDependencies.buildArtifact). */
import {makeProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {runImage} from '../../helpers/run-image.js'
import {build, buildEnv, builtStages, dimgReport, finalStageName, storeDir} from './support.js'

const DAPPFILE = `dimg: app
from: localhost:5000/base/busybox:latest
import:
  - {artifact: dist, add: /out, to: /app, before: setup}
docker:
  CMD: ["/bin/cat", "/app/version", "/app/setup"]
---
artifact: dist
from: localhost:5000/base/busybox:latest
git:
  - add: /
    to: /src
    excludePaths: [dappfile.yaml]
    stageDependencies:
      buildArtifact: [VERSION]
shell:
  setup: [mkdir -p /out, echo setup > /out/setup]
  buildArtifact: [cp /src/VERSION /out/version]
  buildArtifactCacheVersion: 1
`

describe('dimg build: the buildArtifact stage of artifacts', () => {
  const setup = useRegistry({base: true})

  it('runs last in the artifact with the current git files, and its stageDependencies rebuild it and what imports it', async () => {
    const project = await makeProject({registryHost: setup.reg.host, dappfile: DAPPFILE, files: {VERSION: '1.0\n'}})
    const first = await build(project.dir, buildEnv(setup.reg, setup.home))
    expect(dimgReport(first, 'dist').stages.map(s => s.name)).toEqual(['from', 'gitArchive', 'setup', 'buildArtifact'])
    expect(await runImage(storeDir(setup.home), finalStageName(first, 'app'))).toBe('1.0\nsetup\n')

    await project.commit('version 2', {VERSION: '2.0\n'})
    const second = await build(project.dir, buildEnv(setup.reg, setup.home))
    expect({dist: builtStages(second, 'dist'), app: builtStages(second, 'app')}).toEqual({dist: ['gitLatestPatch', 'buildArtifact'], app: ['importsBeforeSetup', 'docker']})
    expect(await runImage(storeDir(setup.home), finalStageName(second, 'app'))).toBe('2.0\nsetup\n')

    await project.commit('cache version 2', {'dappfile.yaml': DAPPFILE.replace('buildArtifactCacheVersion: 1', 'buildArtifactCacheVersion: 2')})
    const third = await build(project.dir, buildEnv(setup.reg, setup.home))
    expect(builtStages(third, 'dist')).toEqual(['buildArtifact'])
  })
})
