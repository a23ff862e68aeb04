/** Issue 17: git mappings of remote repositories (url with branch, tag or commit), served by git daemon and file://. */
import {readdir} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {type GitDaemon, startGitDaemon} from '../../helpers/git-daemon.js'
import {makeProject, type ProjectChanges, type TestProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {runImage} from '../../helpers/run-image.js'
import {build, buildEnv, builtStages, finalStageName, runBuild, storeDir} from './support.js'

const dappfile = (urlOf: (kind: string) => string): string => `dimg: tracking
from: localhost:5000/base/busybox:latest
git:
  - url: ${urlOf('daemon')}
    branch: main
    add: /
    to: /src
    includePaths: [code.txt, deps.txt]
    stageDependencies: {install: deps.txt}
shell:
  install: [cp /src/deps.txt /installed]
docker:
  CMD: ["/bin/cat", "/src/code.txt", "/installed"]
---
dimg: pinned
from: localhost:5000/base/busybox:latest
git:
  - url: ${urlOf('file')}
    tag: v1
    add: /code.txt
    to: /code.txt
docker:
  CMD: ["/bin/cat", "/code.txt"]
---
dimg: local
from: localhost:5000/base/busybox:latest
git:
  - add: /README
    to: /README
docker:
  CMD: ["/bin/cat", "/README"]
`

describe('dimg build: remote git mappings', () => {
  const setup = useRegistry({base: true})
  let daemon: GitDaemon
  let upstream: TestProject
  let project: TestProject
  const env = (): Record<string, string> => buildEnv(setup.reg, setup.home)
  /** Commits to the upstream repository, builds: the stages each dimg built, and what the tracking image prints. */
  const buildAfterUpstreamCommit = async (message: string, changes: ProjectChanges) => {
    await upstream.commit(message, changes)
    const report = await build(project.dir, env())
    return {
      built: {tracking: builtStages(report, 'tracking'), pinned: builtStages(report, 'pinned'), local: builtStages(report, 'local')},
      trackingRuns: await runImage(storeDir(setup.home), finalStageName(report, 'tracking')),
    }
  }

  beforeAll(async () => {
    upstream = await makeProject({registryHost: setup.reg.host, dappfile: '', files: {'code.txt': 'code v1\n', 'deps.txt': 'deps v1\n'}})
    await upstream.git(['tag', 'v1'])
    daemon = await startGitDaemon(dirname(upstream.dir))
    const config = dappfile(kind => (kind === 'daemon' ? daemon.url(basename(upstream.dir)) : `file://${upstream.dir}`))
    project = await makeProject({registryHost: setup.reg.host, dappfile: config, files: {README: 'local\n'}})
  })
  afterAll(async () => {
    await daemon?.stop()
  })

  it('clones each remote once into SLIPWAY_HOME/git and builds from the commit its branch or tag names', async () => {
    const first = await build(project.dir, env())
    expect(await runImage(storeDir(setup.home), finalStageName(first, 'tracking'))).toBe('code v1\ndeps v1\n')
    expect(await runImage(storeDir(setup.home), finalStageName(first, 'pinned'))).toBe('code v1\n')
    expect((await readdir(join(setup.home, 'git'))).filter(n => !n.endsWith('.lock'))).toHaveLength(2)
    expect((await build(project.dir, env())).built).toBe(0)
  })

  it('a new upstream commit outside stageDependencies adds the git patch only, and only where the branch is followed', async () => {
    expect(await buildAfterUpstreamCommit('code v2', {'code.txt': 'code v2\n'})).toEqual({
      built: {tracking: ['gitLatestPatch', 'docker'], pinned: [], local: []},
      trackingRuns: 'code v2\ndeps v1\n',
    })
  })

  it('a new upstream commit under stageDependencies rebuilds that stage and what follows', async () => {
    expect(await buildAfterUpstreamCommit('deps v2', {'deps.txt': 'deps v2\n'})).toEqual({
      // install brings the mapped files to the new commit before it runs: no patch is left after it
      built: {tracking: ['install', 'docker'], pinned: [], local: []},
      trackingRuns: 'code v2\ndeps v2\n',
    })
  })

  it('pins a commit by an abbreviated id, resolved in the clone', async () => {
    const v1 = (await upstream.git(['rev-parse', 'v1'])).trim()
    await project.commit('pin a commit', {'dappfile.yaml': (await readProjectConfig(project)).replace('tag: v1', `commit: ${v1.slice(0, 12)}`)})
    const report = await build(project.dir, env())
    // the tag and the commit it names are the same files: only the mapping as written moved
    expect(builtStages(report, 'pinned')).toEqual(['gitArchive', 'docker'])
    expect(await runImage(storeDir(setup.home), finalStageName(report, 'pinned'))).toBe('code v1\n')
  })

  it('says in one line when the remote cannot be fetched, with no credentials in it', async () => {
    const broken = await makeProject({
      registryHost: setup.reg.host,
      dappfile: 'from: localhost:5000/base/busybox:latest\ngit: [{url: "http://robot:s3cr3t-t0ken@127.0.0.1:1/repo.git", add: /, to: /src}]\n',
    })
    const r = await runBuild(broken.dir, buildEnv(setup.reg, setup.freshHome()))
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim().split('\n')[0]).toMatch(/cannot fetch HEAD of git http:\/\/127\.0\.0\.1:1\/repo\.git: /)
    expect(r.stderr + r.stdout).not.toContain('s3cr3t-t0ken')
  })

  it('refuses a dimg that maps two repositories with one line saying how to do it instead', async () => {
    const mixed = await makeProject({
      registryHost: setup.reg.host,
      dappfile: `from: localhost:5000/base/busybox:latest\ngit:\n  - {add: /, to: /app}\n  - {url: "file://${upstream.dir}", add: /, to: /vendor}\n`,
    })
    const r = await runBuild(mixed.dir, buildEnv(setup.reg, setup.freshHome()))
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim().split('\n')[0]).toContain(`maps git paths from more than one repository (the project's, file://${upstream.dir}): not supported yet`)
  })
})

async function readProjectConfig(project: TestProject): Promise<string> {
  return project.git(['show', 'HEAD:dappfile.yaml'])
}
