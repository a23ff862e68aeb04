import {mkdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runSkopeo} from '../../helpers/base-image.js'
import {useRegistry} from '../../helpers/registry.js'
import {runImage} from '../../helpers/run-image.js'
import {
  garbageCollect,
  Hosts,
  localStageSignatures,
  minus,
  oneLine,
  plannedSignatures,
  signatureOf,
  stageTagsOf,
  tagDigests,
  tagsOf,
  union,
} from './support.js'

/** A fresh host pulls the way seed 001 says: the latest stage of each dimg (no --all). */
const PULL: string[] = []

/**
 * Issue 7 against a real registry: two versions of the example project pushed with their stages, one final
 * image deleted; `--improper-repo-cache` then removes exactly the stages only that image used, in REPO and
 * locally, and what remains still runs and still serves a fresh host. Also the listings, the grace period,
 * --dry-run, flush and the two stale-cache recipes of SPEC.md.
 */
describe('dimg stages list/cleanup/flush against a real registry', () => {
  const setup = useRegistry({base: true, project: {fromExample: true, name: 'shop'}})
  let repo: string
  let hosts: Hosts
  let a: string
  /** dimg → planned signatures at v1 and v2 */
  let v1: Record<string, string[]>
  let v2: Record<string, string[]>
  /** The stages that only REPO/web:v1 used: what cleanup must delete once that image is gone. */
  let onlyWebV1: string[]

  beforeAll(async () => {
    repo = `${setup.reg.host}/shop`
    hosts = new Hosts(() => setup.project.dir)
    a = hosts.make()
    v1 = await plannedSignatures(hosts, a, repo)
    await hosts.json(a, ['dimg', 'bp', repo, '--with-stages', '--tag-plain', 'v1'])
    // v2 changes the page version (the artifact's install stage, so web's import) and the worker script
    await setup.project.commit('v2', {
      'web/version.txt': '2.0.0\n',
      'worker/worker.sh': {content: '#!/bin/sh\necho "worker v2 ${WORKER_NAME:-unnamed}"\n', mode: 0o755},
    })
    v2 = await plannedSignatures(hosts, a, repo)
    await hosts.json(a, ['dimg', 'bp', repo, '--with-stages', '--tag-plain', 'v2'])
    // the stages of web:v1 (its chain and the artifact chain it imports from), less those any other final image uses
    const webV1 = union(v1.web, v1.assets)
    const others = union(v2.web, v2.assets, v2.worker, v1.worker)
    onlyWebV1 = minus(webV1, others)
  }, 120_000)

  afterAll(async () => {
    await hosts?.removeAll()
  })

  it('lists the stages in REPO and locally, with the final images that use them (--json and table)', async () => {
    const all = [...union(...Object.values(v1), ...Object.values(v2))].sort()
    const rows = await hosts.json<any[]>(a, ['dimg', 'stages', 'list', 'repo', repo])
    expect(rows.map(r => r.signature).sort()).toEqual(all)
    for (const r of rows) {
      expect(Object.keys(r).sort()).toEqual(['cacheVersion', 'created', 'digest', 'dimg', 'gitCommit', 'image', 'parent', 'signature', 'size', 'stage', 'usedBy'])
      expect(r.image).toBe(`${repo}:dimgstage-${r.signature}`)
      expect(r.digest).toMatch(/^sha256:[a-f0-9]{64}$/)
      expect(typeof r.size).toBe('number')
      expect(Date.now() - Date.parse(r.created)).toBeLessThan(10 * 60_000)
      expect(['assets', 'web', 'worker']).toContain(r.dimg)
    }
    const bySig = new Map(rows.map(r => [r.signature, r]))
    // worker's from stage is assets' too (web's differs: its mount is signed there), so every final image uses it
    expect(bySig.get(v1.worker[0]).usedBy).toEqual([`${repo}/web:v1`, `${repo}/web:v2`, `${repo}/worker:v1`, `${repo}/worker:v2`])
    expect(bySig.get(v2.web.at(-1)!).usedBy).toEqual([`${repo}/web:v2`])
    // artifact stages are used through web's import
    expect(bySig.get(v1.assets.at(-1)!).usedBy).toEqual([`${repo}/web:v1`])
    expect(bySig.get(v2.worker.at(-1)!)).toMatchObject({dimg: 'worker', stage: 'docker', usedBy: [`${repo}/worker:v2`]})
    expect(bySig.get(v2.worker.at(-1)!).parent).toBe(v2.worker.at(-2))

    const local = await hosts.json<any[]>(a, ['dimg', 'stages', 'list', 'local', '--repo', repo])
    expect(local.map(r => r.signature).sort()).toEqual(all)
    for (const r of local) expect(r.usedBy).toEqual(bySig.get(r.signature).usedBy)
    const plain = await hosts.json<any[]>(a, ['dimg', 'stages', 'list', 'local'])
    expect(plain.every(r => r.usedBy.length === 0)).toBe(true)

    const table = await hosts.run(a, ['dimg', 'stages', 'list', 'repo', repo])
    expect(table.code).toBe(0)
    const lines = table.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^SIGNATURE\s+DIMG\s+STAGE\s+SIZE\s+CREATED\s+USED BY$/)
    expect(lines).toHaveLength(all.length + 1)
    expect(table.stdout).toContain(v2.worker.at(-1)!.slice(0, 12))
  })

  it('after REPO/web:v1 is deleted, the default 2h grace period keeps every freshly built stage', async () => {
    expect(onlyWebV1.length).toBeGreaterThanOrEqual(3)
    await runSkopeo(['delete', '--tls-verify=false', `docker://${repo}/web:v1`])
    expect(await tagsOf(`${repo}/web`)).toEqual(['v2'])
    const before = await stageTagsOf(repo)
    const result = await hosts.json(a, ['dimg', 'stages', 'cleanup', 'repo', repo, '--improper-repo-cache'])
    expect(result.delete).toEqual([])
    expect(result.deleted).toEqual([])
    const tooYoung = result.keep.filter((k: any) => k.reason === 'too-young').map((k: any) => k.signature).sort()
    expect(tooYoung).toEqual(onlyWebV1)
    expect(await stageTagsOf(repo)).toEqual(before)
    const local = await hosts.json(a, ['dimg', 'stages', 'cleanup', 'local', repo, '--improper-repo-cache'])
    expect(local.deleted).toEqual([])
  })

  it('--dry-run lists exactly the stages only web:v1 used and changes nothing, in REPO or locally', async () => {
    const tags = await stageTagsOf(repo)
    const digests = await tagDigests(repo, tags)
    const localBefore = await localStageSignatures(hosts, a)
    const dry = await hosts.json(a, ['dimg', 'stages', 'cleanup', 'repo', repo, '--improper-repo-cache', '--keep-younger-than', '0', '--dry-run'])
    expect(dry.dryRun).toBe(true)
    expect(dry.delete.map((d: any) => d.signature).sort()).toEqual(onlyWebV1)
    expect(dry.deleted).toEqual([])
    expect(dry.summary.delete).toBe(onlyWebV1.length)
    const dryLocal = await hosts.run(a, ['dimg', 'stages', 'cleanup', 'local', repo, '--improper-repo-cache', '--keep-younger-than', '0', '--dry-run'])
    expect(dryLocal.code).toBe(0)
    expect(dryLocal.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^would delete ${onlyWebV1.length} stages and keep \\d+$`))
    expect(await tagDigests(repo, await stageTagsOf(repo))).toEqual(digests)
    expect(await localStageSignatures(hosts, a)).toEqual(localBefore)
  })

  it('--keep-younger-than 0 deletes exactly those stages in REPO and locally; the rest still runs and serves a fresh host', async () => {
    const before = await stageTagsOf(repo)
    const result = await hosts.json(a, ['dimg', 'stages', 'cleanup', 'repo', repo, '--improper-repo-cache', '--keep-younger-than', '0'])
    expect(result.deleted.map((r: string) => signatureOf(r.slice(repo.length + 1))).sort()).toEqual(onlyWebV1)
    const after = await stageTagsOf(repo)
    expect(after).toEqual(minus(before, onlyWebV1.map(s => `dimgstage-${s}`)))
    // children before parents: in the plan, and in the order the registry saw the deletions (the plan's edges)
    const planned = result.delete.map((d: any) => d.signature)
    const done = result.deleted.map((r: string) => signatureOf(r.slice(repo.length + 1)))
    for (const order of [planned, done]) {
      for (const sigs of [v1.web, v1.assets]) {
        const doomed = sigs.filter(s => order.includes(s))
        expect(doomed.map(s => order.indexOf(s))).toEqual([...doomed.map(s => order.indexOf(s))].sort((x, y) => y - x))
      }
    }

    const localBefore = await localStageSignatures(hosts, a)
    const local = await hosts.json(a, ['dimg', 'stages', 'cleanup', 'local', repo, '--improper-repo-cache', '--keep-younger-than', '0'])
    expect(local.delete.map((d: any) => d.signature).sort()).toEqual(onlyWebV1)
    expect(await localStageSignatures(hosts, a)).toEqual(minus(localBefore, onlyWebV1))
    const verify = await hosts.run(a, ['store', 'verify'])
    expect(verify.code).toBe(0)

    // the registry's own garbage collection now drops blobs nothing references; what remains is complete
    await garbageCollect(setup.reg)
    await mkdir(join(a, 'copies'))
    await Promise.all(after.map(t => runSkopeo(['copy', '--quiet', '--src-tls-verify=false', `docker://${repo}:${t}`, `oci:${join(a, 'copies', t.slice(10, 22))}:x`])))
    const c = hosts.make()
    await hosts.json(c, ['image', 'pull', `${repo}/web:v2`, '--name', 'web'])
    await hosts.json(c, ['image', 'pull', `${repo}/worker:v1`, '--name', 'worker1'])
    await hosts.json(c, ['image', 'pull', `${repo}/worker:v2`, '--name', 'worker2'])
    expect(await runImage(join(c, 'store'), 'web', ['cat', '/var/www/index.html'])).toContain('Built by Slipway 2.0.0')
    expect(await runImage(join(c, 'store'), 'worker1')).toMatch(/^worker example: 1 files in \/app/)
    expect(await runImage(join(c, 'store'), 'worker2')).toMatch(/^worker v2 example/)

    const fresh = hosts.make()
    await hosts.json(fresh, ['dimg', 'stages', 'pull', repo, ...PULL])
    expect((await hosts.json(fresh, ['dimg', 'build'])).built).toBe(0)
  }, 180_000)

  it('--improper-repo-cache against a REPO with no final images refuses with one line (exit 2) unless --force', async () => {
    const empty = `${setup.reg.host}/no-finals-here`
    const before = await localStageSignatures(hosts, a)
    const refused = await hosts.run(a, ['dimg', 'stages', 'cleanup', 'local', empty, '--improper-repo-cache', '--keep-younger-than', '0'])
    expect(refused.code).toBe(2)
    expect(oneLine(refused)).toMatch(new RegExp(`no final image in ${empty} names a stage, so --improper-repo-cache would delete the whole stages cache \\(${before.length} stages\\).*--force`))
    const forced = await hosts.json(a, ['dimg', 'stages', 'cleanup', 'local', empty, '--improper-repo-cache', '--keep-younger-than', '0', '--force', '--dry-run'])
    expect(forced.delete.map((d: any) => d.signature).sort()).toEqual(before)
    // the same guard in REPO itself: REPO/other has no final images either
    const repoRefused = await hosts.run(a, ['dimg', 'stages', 'cleanup', 'repo', empty, '--improper-repo-cache', '--keep-younger-than', '0'])
    expect(repoRefused.code).toBe(0) // nothing there to delete, so nothing to refuse
    expect(await localStageSignatures(hosts, a)).toEqual(before)
    const noRepo = await hosts.run(a, ['dimg', 'stages', 'cleanup', 'local', '--improper-repo-cache'])
    expect(noRepo.code).toBe(2)
    expect(oneLine(noRepo)).toContain('--improper-repo-cache needs REPO')
    const noPolicy = await hosts.run(a, ['dimg', 'stages', 'cleanup', 'repo', repo])
    expect(noPolicy.code).toBe(2)
    expect(oneLine(noPolicy)).toContain('no cleanup policy given')
  }, 120_000)

  it('registry stale, local right: flush repo drops only stages (final images stay and run), push --with-stages restores it', async () => {
    const finals = {web: await tagsOf(`${repo}/web`), worker: await tagsOf(`${repo}/worker`)}
    const dry = await hosts.json(a, ['dimg', 'stages', 'flush', 'repo', repo, '--dry-run'])
    expect(dry.delete.length).toBe((await stageTagsOf(repo)).length)
    expect((await stageTagsOf(repo)).length).toBe(dry.delete.length)
    const flushed = await hosts.json(a, ['dimg', 'stages', 'flush', 'repo', repo])
    expect(flushed.deleted.length).toBe(dry.delete.length)
    expect(await stageTagsOf(repo)).toEqual([])
    expect({web: await tagsOf(`${repo}/web`), worker: await tagsOf(`${repo}/worker`)}).toEqual(finals)
    await garbageCollect(setup.reg)
    const c = hosts.make()
    await hosts.json(c, ['image', 'pull', `${repo}/worker:v2`, '--name', 'w'])
    expect(await runImage(join(c, 'store'), 'w')).toMatch(/^worker v2 example/)

    const pushed = await hosts.json(a, ['dimg', 'push', repo, '--with-stages', '--tag-plain', 'v2'])
    expect(pushed.stages.every((s: any) => s.status === 'pushed')).toBe(true)
    const fresh = hosts.make()
    await hosts.json(fresh, ['dimg', 'stages', 'pull', repo, ...PULL])
    expect((await hosts.json(fresh, ['dimg', 'build'])).built).toBe(0)
  }, 180_000)

  it('flush local drops the whole local stages cache and nothing else', async () => {
    const b = hosts.make()
    const pulled = await hosts.json(b, ['dimg', 'stages', 'pull', repo])
    await hosts.json(b, ['image', 'pull', `${repo}/worker:v2`, '--name', 'kept-image'])
    expect(await localStageSignatures(hosts, b)).toEqual(pulled.stages.map((s: {image: string}) => s.image.replace(/^.*:dimgstage-/, '')).sort())
    expect(pulled.stages).toHaveLength(4) // this project pulls four: the three dimgs' last stages and one more
    const flushed = await hosts.json(b, ['dimg', 'stages', 'flush', 'local'])
    expect(flushed.deleted.length).toBe(flushed.delete.length)
    expect(await localStageSignatures(hosts, b)).toEqual([])
    expect(await runImage(join(b, 'store'), 'kept-image')).toMatch(/^worker v2 example/)
    expect((await hosts.run(b, ['store', 'verify'])).code).toBe(0)
  }, 120_000)

  it('registry right, local stale: cleanup local --improper-repo-cache then stages pull gives a build of 0 stages', async () => {
    // host D built web from a state that was never pushed (v3: another setup command), then the branch moved back to v2
    const d = hosts.make()
    const v2Head = await setup.project.head()
    const dappfile = await readFile(join(setup.project.dir, 'dappfile.yaml'), 'utf8')
    expect(dappfile).toContain('- chown -R www:www /app')
    await setup.project.commit('v3, never pushed', {'dappfile.yaml': dappfile.replace('- chown -R www:www /app', '- chown -R www:www /app /var/www')})
    const v3 = await plannedSignatures(hosts, d, repo)
    await hosts.json(d, ['dimg', 'build', 'web'])
    await setup.project.git(['reset', '-q', '--hard', v2Head])
    const stale = minus(union(v3.web, v3.assets), union(...Object.values(v2)))
    expect(stale.length).toBe(2) // web's setup and docker
    expect(await localStageSignatures(hosts, d)).toEqual(expect.arrayContaining(stale))

    const cleaned = await hosts.json(d, ['dimg', 'stages', 'cleanup', 'local', repo, '--improper-repo-cache', '--keep-younger-than', '0'])
    expect(cleaned.delete.map((x: any) => x.signature).sort()).toEqual(stale)
    expect(minus(await localStageSignatures(hosts, d), union(...Object.values(v2)))).toEqual([])
    await hosts.json(d, ['dimg', 'stages', 'pull', repo, ...PULL])
    expect((await hosts.json(d, ['dimg', 'build'])).built).toBe(0)
  }, 180_000)
})
