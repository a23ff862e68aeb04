/**
 * fixtures/configs/: dappfiles and werf.yaml files in the shapes real projects have (templates, partials,
 * meta documents, several images, artifacts with imports, mounts, stageDependencies, docker keys, werf
 * 1.1 and 1.2 styles), each planned by `slipway dimg stages push REPO --dry-run --json` in a git repository
 * made from it, or refused with its one line.
 */
import {readdirSync} from 'node:fs'
import {join} from 'node:path'

import {REPO_ROOT, runSlipway} from '../../helpers/cli.js'
import {makeProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'

const CORPUS = join(REPO_ROOT, 'fixtures', 'configs')

type Expected = {project: string; dimgs: string[]} | {error: string}

/** What each config plans to (project name, dimgs in build order as listed) or the line it fails with. */
const EXPECTED: Record<string, Expected> = {
  'dapp-single-dimg': {project: 'dapp-single-dimg', dimgs: ['dapp-single-dimg']},
  'dapp-rails-app': {project: 'dapp-rails-app', dimgs: ['assets', 'rails']},
  'dapp-node-frontend': {project: 'dapp-node-frontend', dimgs: ['frontend-build', 'frontend']},
  'dapp-dimg-list': {project: 'dapp-dimg-list', dimgs: ['api', 'worker']},
  'dapp-partials': {project: 'dapp-partials', dimgs: ['api', 'cron']},
  'dapp-nested-partials': {project: 'dapp-nested-partials', dimgs: ['billing', 'reports']},
  'dapp-files-get': {project: 'dapp-files-get', dimgs: ['dapp-files-get']},
  'dapp-commented-stages': {project: 'dapp-commented-stages', dimgs: ['app']},
  'dapp-yaml-anchors': {project: 'dapp-yaml-anchors', dimgs: ['web']},
  'dapp-docker-keys': {project: 'dapp-docker-keys', dimgs: ['service']},
  'dapp-workdir-relative': {project: 'dapp-workdir-relative', dimgs: ['tool']},
  'dapp-git-as': {project: 'dapp-git-as', dimgs: ['app']},
  'dapp-cache-versions': {project: 'dapp-cache-versions', dimgs: ['app']},
  'dapp-mounts': {project: 'dapp-mounts', dimgs: ['app']},
  'dapp-import-positions': {project: 'dapp-import-positions', dimgs: ['compiler', 'config', 'app']},
  'dapp-odd-names': {project: 'dapp-odd-names', dimgs: ['Build Tools (Go)', 'Backend API', 'admin/panel']},
  'dapp-env-default': {project: 'dapp-env-default', dimgs: ['app']},
  'dapp-range-dimgs': {project: 'dapp-range-dimgs', dimgs: ['admin', 'api', 'metrics']},
  'dapp-meta-project': {project: 'legacy-shop', dimgs: ['shop']},
  'dappfile-yml': {project: 'dappfile-yml', dimgs: ['app']},
  'dapp-trimming-escapes': {project: 'dapp-trimming-escapes', dimgs: ['app']},
  'dapp-from-dimg': {project: 'dapp-from-dimg', dimgs: ['base', 'app']},
  'dapp-from-dimg-artifact': {project: 'dapp-from-dimg-artifact', dimgs: ['toolchain', 'build', 'app']},
  'dapp-build-artifact': {project: 'dapp-build-artifact', dimgs: ['binary', 'app']},
  'dapp-mount-from-path': {project: 'dapp-mount-from-path', dimgs: ['app']},
  'werf-from-image': {project: 'layers', dimgs: ['base', 'app']},
  'werf-from-artifact': {project: 'from-art', dimgs: ['rootfs', 'app']},
  'werf-import-image-stage': {project: 'img-import', dimgs: ['builder', 'app']},
  'werf-mount-relative': {project: 'mount-rel', dimgs: ['app']},
  'dapp-ansible': {error: 'dappfile.yaml:3:1: dimg "app" › ansible: ansible stages are not supported yet (write the tasks as shell commands)'},
  'dapp-chef': {error: 'dappfile.yaml:3:1: dimg "app" › chef: chef stages are not supported'},
  'werf-minimal': {project: 'hello', dimgs: ['hello']},
  'werf-multi-image': {project: 'shop', dimgs: ['builder', 'backend', 'worker']},
  'werf-meta-sections': {project: 'billing', dimgs: ['billing']},
  'werf-helpers': {project: 'helpers', dimgs: ['web', 'jobs']},
  'werf-files-glob': {project: 'glob', dimgs: ['app']},
  'werf-env-12': {project: 'envs', dimgs: ['app']},
  'werf-tpl-values': {project: 'tpl', dimgs: ['app']},
  'werf-image-list': {project: 'twins', dimgs: ['api', 'consumer']},
  'werf-stage-dependencies': {project: 'py', dimgs: ['python-app']},
  'werf-from-latest': {project: 'latest', dimgs: ['app']},
  'werf-healthcheck': {project: 'health', dimgs: ['api']},
  'werf-go-service': {project: 'go-svc', dimgs: ['go-build', 'svc']},
  'werf-with-block': {project: 'blocks', dimgs: ['tool']},
  'werf-squote-replace': {project: 'strings', dimgs: ['my-service']},
  'werf-artifact-chain': {project: 'chain', dimgs: ['stage-one', 'stage-two', 'final']},
  'werf-dockerfile': {error: 'werf.yaml:6:1: image "web" › dockerfile: dockerfile images are not supported (only stapel images: from, git, shell, import, docker, mount)'},
  'werf-ansible': {error: 'werf.yaml:7:1: image "app" › ansible: ansible stages are not supported yet (write the tasks as shell commands)'},
  'werf-no-meta': {
    error:
      'werf.yaml:1:1: the meta document is missing: a werf.yaml starts with "configVersion: 1" and "project: NAME": add at the top:  configVersion: 1 ⏎ project: werf-no-meta ⏎ ---  (the project name names the stages cache; changing it later rebuilds everything)',
  },
  'werf-unknown-function': {error: 'template: werf.yaml:9: function "nowish" not defined'},
}

/** Configs that cannot plan here, and why (remote git mappings are built in build-workflow/remote-git.test.ts). */
const PENDING: Record<string, string> = {
  'dapp-remote-git': 'its git url is on github.com, which the tests do not reach',
}

/**
 * Configs of the corpus that use only what is supported and whose commands a busybox base can run: built for
 * real, with the number of stages a first build makes (every stage of every dimg, a stage shared by dimgs once).
 */
const BUILT: Record<string, number> = {
  'dapp-single-dimg': 5,
  'dapp-docker-keys': 3,
  'dapp-mounts': 2,
  'dapp-from-dimg': 4,
  'dapp-build-artifact': 5,
  'dapp-import-positions': 7,
  'werf-minimal': 3,
  'werf-multi-image': 6,
  'werf-from-image': 4,
  'werf-import-image-stage': 4,
  'werf-artifact-chain': 5,
}

const configs = readdirSync(CORPUS).sort()

describe('the config corpus', () => {
  const setup = useRegistry({base: true}) // fromLatest resolves the base's digest

  it('holds at least 40 configs, each expected to plan or fail, or pending with a reason', () => {
    expect(configs.length).toBeGreaterThanOrEqual(40)
    expect(configs.filter((c) => !(c in EXPECTED) && !(c in PENDING))).toEqual([])
    expect(Object.keys(EXPECTED).length).toBeGreaterThanOrEqual(40)
  })

  it.each(configs.filter((c) => c in EXPECTED))('%s', async (name) => {
    const project = await makeProject({registryHost: setup.reg.host, fromDir: join(CORPUS, name), name})
    const r = await runSlipway(['dimg', 'stages', 'push', `${setup.reg.host}/corpus`, '--dry-run', '--json'], {
      cwd: project.dir,
      env: {SLIPWAY_HOME: setup.home, ...setup.reg.env(), DEPLOY_ENV: 'staging'},
    })
    const expected = EXPECTED[name]
    if ('error' in expected) {
      expect([r.code, r.stderr.trim()]).toEqual([3, `slipway: ${expected.error}`])
      return
    }
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const plan = JSON.parse(r.stdout) as {project: string; dimgs: {listedAs: string; stages: {name: string}[]}[]}
    expect(plan.project).toBe(expected.project)
    expect(plan.dimgs.map((d) => d.listedAs)).toEqual(expected.dimgs)
    for (const d of plan.dimgs) expect(d.stages[0].name).toBe('from')
  })

  it.each(Object.entries(BUILT))('%s builds %i stages in the sandbox, then builds nothing again', async (name, stages) => {
    const project = await makeProject({registryHost: setup.reg.host, fromDir: join(CORPUS, name), name})
    const env = {SLIPWAY_HOME: setup.home, ...setup.reg.env(), DEPLOY_ENV: 'staging'}
    const first = await runSlipway(['dimg', 'build', '--json'], {cwd: project.dir, env, timeoutMs: 300_000})
    expect({code: first.code, stderr: first.code === 0 ? '' : first.stderr}).toEqual({code: 0, stderr: ''})
    const report = JSON.parse(first.stdout) as {built: number; dimgs: {listedAs: string}[]}
    expect(report.built).toBe(stages)
    expect(report.dimgs.map((d) => d.listedAs)).toEqual((EXPECTED[name] as {dimgs: string[]}).dimgs)
    const again = JSON.parse((await runSlipway(['dimg', 'build', '--json'], {cwd: project.dir, env, timeoutMs: 300_000})).stdout) as {built: number}
    expect(again.built).toBe(0)
  }, 300_000)

  it.skip.each(Object.entries(PENDING))('%s (pending: %s)', () => undefined)
})

