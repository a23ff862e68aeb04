import {execFileSync, spawn} from 'node:child_process'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {pushBaseImage, runSkopeo} from '../../helpers/base-image.js'
import {runSlipway, SLIPWAY_BIN} from '../../helpers/cli.js'
import {makeProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {runImage} from '../../helpers/run-image.js'
import {makeTempDir} from '../../helpers/tmp.js'

/**
 * Seed 001's distributed workflow on several "hosts" (separate SLIPWAY_HOMEs) sharing one real registry:
 * stages pull → build → push --with-stages, with first-writer-wins stage tags.
 */
describe('the distributed stages cache (seed 001)', () => {
  const setup = useRegistry({base: true, project: {fromExample: true, name: 'example'}})
  let repo: string

  /** Runs slipway on a host; dimg commands get `--dir` (the example project unless the args name one). */
  const slipway = (home: string, args: string[], env: Record<string, string> = {}) =>
    runSlipway(args[0] === 'dimg' && !args.includes('--dir') ? [...args, '--dir', setup.project.dir] : args, {env: {SLIPWAY_HOME: home, ...env}})
  const json = async (home: string, args: string[], env: Record<string, string> = {}) => {
    const r = await slipway(home, [...args, '--json'], env)
    if (r.code !== 0) throw new Error(`slipway ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return JSON.parse(r.stdout)
  }
  const tagsOf = async (repository: string): Promise<string[]> => {
    const r = await runSkopeo(['list-tags', '--tls-verify=false', `docker://${repository}`])
    return (JSON.parse(r.stdout) as {Tags: string[]}).Tags.sort()
  }

  beforeAll(async () => {
    repo = `${setup.reg.host}/example`
  })

  it('dry runs list the planned stage images in the seeds format', async () => {
    const home = setup.freshHome()
    const push = await slipway(home, ['dimg', 'stages', 'push', repo, '--dry-run'])
    expect(push.code).toBe(0)
    const lines = push.stdout.trimEnd().split('\n')
    expect(lines.filter(l => !l.startsWith('  '))).toEqual(['assets', 'web', 'worker'])
    for (const l of lines.filter(l => l.startsWith('  '))) expect(l).toMatch(new RegExp(`^  ${setup.reg.host}/example:dimgstage-[a-f0-9]{64}$`))
    // every planned stage of web: from, beforeInstall, gitArchive, install, importsAfterInstall, setup, docker
    const web = lines.slice(lines.indexOf('web') + 1, lines.indexOf('worker'))
    expect(web).toHaveLength(7)
    const pullAll = await slipway(home, ['dimg', 'stages', 'pull', repo, '--all', '--dry-run'])
    expect(pullAll.stdout).toBe(push.stdout)
    const pullLatest = await slipway(home, ['dimg', 'stages', 'pull', repo, '--dry-run'])
    expect(pullLatest.stdout.split('\n').slice(lines.indexOf('web'), lines.indexOf('worker'))).toEqual(['web', ...web.reverse()])
    const asJson = JSON.parse((await slipway(home, ['dimg', 'stages', 'push', 'worker', repo, '--dry-run', '--json'])).stdout)
    expect(asJson.dimgs.map((d: {name: string}) => d.name)).toEqual(['worker'])
    expect(asJson.dimgs[0].stages.map((s: {name: string}) => s.name)).toEqual(['from', 'gitArchive', 'setup', 'docker'])
  })

  it('host A builds and pushes; host B pulls the cache and builds nothing; the final images run', async () => {
    const a = setup.freshHome()
    const bp = await json(a, ['dimg', 'bp', repo, '--with-stages'])
    expect(bp.build.built).toBeGreaterThan(10)
    expect(bp.push.images.map((i: {image: string}) => i.image).sort()).toEqual([`${repo}/web:latest`, `${repo}/worker:latest`])
    expect(bp.push.stages.every((s: {status: string}) => s.status === 'pushed')).toBe(true)
    const stageTags = (await tagsOf(repo)).filter(t => t.startsWith('dimgstage-'))
    expect(stageTags).toHaveLength(bp.push.stages.length)
    // artifacts are never pushed as final images
    await expect(tagsOf(`${repo}/assets`)).rejects.toThrow()

    const b = setup.freshHome()
    const pulled = await json(b, ['dimg', 'stages', 'pull', repo])
    // only the latest stage of each dimg and artifact
    expect(pulled.stages.filter((s: {status: string}) => s.status === 'pulled').map((s: {dimg: string; stage: string}) => `${s.dimg}/${s.stage}`).sort()).toEqual([
      'assets/install',
      'web/docker',
      'worker/docker',
    ])
    const build = await json(b, ['dimg', 'build'])
    expect(build.built).toBe(0)

    // a second push from B finds everything there: no stage rewritten, no blob sent
    const again = await json(b, ['dimg', 'push', repo, '--with-stages'])
    // B has the latest stage of each dimg; the intermediate ones it never pulled are skipped
    expect(again.stages.filter((s: {status: string}) => s.status === 'exists')).toHaveLength(3)
    expect(again.stages.filter((s: {status: string}) => s.status !== 'exists').every((s: {status: string}) => s.status === 'skipped')).toBe(true)
    expect(again.blobs.uploaded).toBe(0)

    const c = setup.freshHome()
    await json(c, ['image', 'pull', `${repo}/worker:latest`, '--name', 'worker'])
    expect(await runImage(join(c, 'store'), 'worker')).toMatch(/^worker example: 1 files in \/app, running as root/)
    const inspect = JSON.parse((await runSkopeo(['inspect', '--tls-verify=false', `docker://${repo}/web:latest`])).stdout)
    expect(inspect.Labels['dev.slipway.final.dimg']).toBe('web')
    expect(inspect.Labels['dev.slipway.final.stage-signature']).toBe(bp.build.dimgs.find((d: {name: string}) => d.name === 'web').signature)
  })

  it('after a second commit, a fresh host that pulls only the latest stages still builds nothing', async () => {
    const proj = await makeProject({registryHost: setup.reg.host, fromExample: true, name: 'twocommits'})
    const twoRepo = `${setup.reg.host}/twocommits`
    const a = setup.freshHome()
    await json(a, ['dimg', 'bp', twoRepo, '--with-stages', '--dir', proj.dir])
    // outside every stageDependencies: only gitLatestPatch and docker of the worker are new
    await proj.commit('worker v2', {'worker/worker.sh': {content: '#!/bin/sh\necho "worker v2"\n', mode: 0o755}})
    const second = await json(a, ['dimg', 'bp', twoRepo, '--with-stages', '--dir', proj.dir])
    expect(second.build.dimgs.find((d: {name: string}) => d.name === 'worker').stages.filter((s: {status: string}) => s.status === 'built').map((s: {name: string}) => s.name)).toEqual(['gitLatestPatch', 'docker'])
    const b = setup.freshHome()
    await json(b, ['dimg', 'stages', 'pull', twoRepo, '--dir', proj.dir])
    expect((await json(b, ['dimg', 'build', '--dir', proj.dir])).built).toBe(0)
    const c = setup.freshHome()
    await json(c, ['image', 'pull', `${twoRepo}/worker:latest`, '--name', 'w'])
    expect(await runImage(join(c, 'store'), 'w')).toBe('worker v2\n')
  })

  it('bp --with-stages pushes a dimg\'s stages as soon as it is built, while others still build', async () => {
    // slow's install waits at a gate (a host directory mounted into it) that the test opens only once it has
    // seen fast's last stage in the registry: fast's stages can only be there by then if bp pushed them while
    // slow was still building (a bp that pushed at the end would leave the gate shut until the deadline)
    const gate = await makeTempDir('early-gate')
    setup.removeAfter(gate)
    const dappfile = `artifact: fast
from: localhost:5000/base/busybox:latest
shell:
  install: [echo fast > /fast]
---
dimg: slow
from: localhost:5000/base/busybox:latest
mount:
  - {fromPath: ${gate}, to: /gate}
import:
  - artifact: fast
    add: /fast
    to: /fast
    before: setup
shell:
  install: ["until [ -e /gate/open ]; do sleep 0.1; done", echo slow > /slow]
`
    const proj = await makeProject({registryHost: setup.reg.host, dappfile, name: 'early'})
    const earlyRepo = `${setup.reg.host}/early`
    const plan = JSON.parse((await runSlipway(['dimg', 'stages', 'push', earlyRepo, '--dry-run', '--json', '--dir', proj.dir], {env: {SLIPWAY_HOME: setup.freshHome()}})).stdout)
    const fastLast = plan.dimgs.find((d: {name: string}) => d.name === 'fast').stages.at(-1).signature
    let finished = false
    const bp = runSlipway(['dimg', 'bp', earlyRepo, '--with-stages', '--dir', proj.dir], {env: {SLIPWAY_HOME: setup.freshHome()}}).then(r => {
      finished = true
      return r
    })
    const deadline = Date.now() + 60_000 // a generous bound for building and pushing fast on a loaded machine
    let seenWhileSlowWaited = false
    while (!finished && Date.now() < deadline) {
      const r = await fetch(`${setup.reg.url}/v2/early/manifests/dimgstage-${fastLast}`, {method: 'HEAD', headers: {accept: 'application/vnd.oci.image.manifest.v1+json'}})
      if (r.status === 200) {
        seenWhileSlowWaited = !finished
        break
      }
      await new Promise(res => setTimeout(res, 100))
    }
    await writeFile(join(gate, 'open'), '')
    const r = await bp
    expect({code: r.code, stderr: r.code === 0 ? '' : r.stderr}).toEqual({code: 0, stderr: ''})
    expect(seenWhileSlowWaited).toBe(true)
  }, 180_000)

  it('a stage tag is written once: the first writer wins', async () => {
    const home = setup.freshHome()
    const plan = JSON.parse((await slipway(home, ['dimg', 'stages', 'push', 'worker', repo, '--dry-run', '--json'])).stdout)
    const last = plan.dimgs[0].stages.at(-1).signature as string
    // somebody else's image sits at the worker's last stage tag already
    const other = `${setup.reg.host}/other/thing:x`
    await pushBaseImage(setup.reg, 'other/thing', 'x')
    const tag = `${repo}:dimgstage-${last}`
    await runSkopeo(['copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${other}`, `docker://${tag}`])
    const before = JSON.parse((await runSkopeo(['inspect', '--tls-verify=false', `docker://${tag}`])).stdout).Digest
    await json(home, ['dimg', 'build', 'worker'])
    const pushed = await slipway(home, ['dimg', 'stages', 'push', 'worker', repo])
    expect(pushed.code).toBe(0)
    expect(pushed.stderr).toContain(`${tag}: already in the registry, kept as it is`)
    expect(JSON.parse((await runSkopeo(['inspect', '--tls-verify=false', `docker://${tag}`])).stdout).Digest).toBe(before)
  })

  it('two hosts pushing the same commit at once end with one consistent cache and running images', async () => {
    const proj = await makeProject({registryHost: setup.reg.host, fromExample: true, name: 'race'})
    const raceRepo = `${setup.reg.host}/race`
    const [x, y] = [setup.freshHome(), setup.freshHome()]
    const results = await Promise.all(
      [x, y].map(h => runSlipway(['dimg', 'bp', raceRepo, '--with-stages', '--json', '--dir', proj.dir], {env: {SLIPWAY_HOME: h}})),
    )
    for (const r of results) expect({code: r.code, stderr: r.code === 0 ? '' : r.stderr}).toEqual({code: 0, stderr: ''})
    const tags = (await tagsOf(raceRepo)).filter(t => t.startsWith('dimgstage-'))
    expect(tags.length).toBe(JSON.parse(results[0].stdout).push.stages.length)
    // every stage tag's manifest and blobs can be fetched whole
    for (const t of tags) await runSkopeo(['copy', '--src-tls-verify=false', `docker://${raceRepo}:${t}`, `oci:${join(x, 'check')}:${t.slice(10, 22)}`])
    const z = setup.freshHome()
    await json(z, ['image', 'pull', `${raceRepo}/worker:latest`, '--name', 'w'])
    expect(await runImage(join(z, 'store'), 'w')).toContain('worker example')
    const fresh = setup.freshHome()
    await json(fresh, ['dimg', 'stages', 'pull', raceRepo, '--dir', proj.dir])
    expect((await json(fresh, ['dimg', 'build', '--dir', proj.dir])).built).toBe(0)
  })

  it('a killed push, run again, finishes the job', async () => {
    const proj = await makeProject({registryHost: setup.reg.host, fromExample: true, name: 'killed'})
    const killedRepo = `${setup.reg.host}/killed`
    const home = setup.freshHome()
    expect((await runSlipway(['dimg', 'build', '--dir', proj.dir], {env: {SLIPWAY_HOME: home}})).code).toBe(0)
    const child = spawn(process.execPath, [SLIPWAY_BIN, 'dimg', 'push', killedRepo, '--with-stages', '--dir', proj.dir], {
      env: {...process.env, SLIPWAY_HOME: home},
      stdio: 'ignore',
    })
    await new Promise(r => setTimeout(r, 450))
    child.kill('SIGKILL')
    await new Promise(r => child.on('close', r))
    const rerun = await runSlipway(['dimg', 'push', killedRepo, '--with-stages', '--json', '--dir', proj.dir], {env: {SLIPWAY_HOME: home}})
    expect(rerun.code).toBe(0)
    const result = JSON.parse(rerun.stdout)
    for (const s of result.stages) await runSkopeo(['inspect', '--tls-verify=false', `docker://${s.image}`])
    const fresh = setup.freshHome()
    await json(fresh, ['dimg', 'stages', 'pull', killedRepo, '--dir', proj.dir])
    expect((await json(fresh, ['dimg', 'build', '--dir', proj.dir])).built).toBe(0)
  })

  it('tag options name the final images; bad ones get one clear line', async () => {
    const home = setup.freshHome()
    // every CI variable the tag options read (src/naming/tags.ts), empty unless set here: the machine running
    // the tests may be a CI runner itself (a CI_COMMIT_TAG or CI_BRANCH of its own would change the tags)
    const noCi = {GITLAB_CI: '', CI_COMMIT_REF_NAME: '', CI_COMMIT_TAG: '', GITHUB_ACTIONS: '', GITHUB_REF_NAME: '', CI_BUILD_TAG: '', CI_BUILD_REF_NAME: '', CI_BRANCH: '', CI_PIPELINE_ID: '', GITHUB_RUN_ID: '', CI_BUILD_ID: ''}
    const ci = {...noCi, GITLAB_CI: 'true', CI_COMMIT_REF_NAME: 'feature/Login', CI_PIPELINE_ID: '4242'}
    const pushed = await json(home, ['dimg', 'bp', 'worker', repo, '--tag-ci', '--tag-build-id', '--tag-plain', 'v1.0', '--tag-commit'], ci)
    const head = await setup.project.head()
    expect(pushed.push.images.map((i: {image: string}) => i.image.slice(repo.length + 1)).sort()).toEqual(
      [`worker:${head}`, 'worker:4242', 'worker:feature-login-' + /feature-login-([0-9a-f]+)/.exec(JSON.stringify(pushed))![1], 'worker:v1.0'].sort(),
    )
    expect(await tagsOf(`${repo}/worker`)).toEqual(expect.arrayContaining(['4242', 'v1.0', head]))
    const bad = await slipway(home, ['dimg', 'push', repo, '--tag-plain', 'no/slash'])
    expect(bad.code).toBe(2)
    expect(bad.stderr.trim()).toBe('slipway: --tag-plain "no/slash" is not a valid docker tag: use letters, digits, _ . - (at most 128, not starting with . or -), or --tag to slug it')
    const notCi = await slipway(home, ['dimg', 'push', repo, '--tag-ci'], noCi)
    expect(notCi.code).toBe(2)
    expect(notCi.stderr).toContain('--tag-ci: not running in a known CI system')
    // bp built on the stages REPO has and kept none of them locally; spush to another repository reads the local cache
    await json(home, ['dimg', 'build', 'worker'])
    const branch = execFileSync('git', ['-C', setup.project.dir, 'symbolic-ref', '--short', 'HEAD'], {encoding: 'utf8'}).trim()
    const byBranch = await json(home, ['dimg', 'push', 'worker', repo, '--tag-branch'])
    expect(byBranch.images.map((i: {image: string}) => i.image)).toEqual([`${repo}/worker:${branch}`])
    const spush = await json(home, ['dimg', 'spush', 'worker', `${setup.reg.host}/plain-worker`, '--tag', 'Release 1'])
    expect(spush.images[0].image).toMatch(new RegExp(`^${setup.reg.host}/plain-worker:release-1-[0-9a-f]+$`))
    const twoDimgs = await slipway(home, ['dimg', 'spush', `${setup.reg.host}/x`])
    expect(twoDimgs.code).toBe(2)
    expect(twoDimgs.stderr).toContain('spush pushes exactly one dimg')
  })
})
