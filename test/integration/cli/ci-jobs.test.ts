import {readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'

import {useRegistry} from '../../helpers/registry.js'
import {markTraffic, registryTraffic} from '../../helpers/registry-traffic.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'
import {
  baseRunnerEnv, checkout, githubExpression, openPathTo, packSlipway, readableCopy, readmeJobFile, runAsRunner, runnerDir,
} from './support.js'

/**
 * The README's GitLab CI and GitHub Actions jobs, run as written in simulated runners against a local
 * TLS registry with htpasswd users (standing for the GitLab container registry and GHCR): a first job
 * builds and pushes everything, a second one on an empty runner finds it all in the registry.
 */
const DAPPFILE = [
  'from: localhost:5000/base/busybox:latest',
  'git:',
  '  - add: /',
  '    to: /app',
  'shell:',
  '  install:',
  '    - echo installed > /installed',
  'docker:',
  '  CMD: ["cat", "/app/hello.txt"]',
  '',
].join('\n')

interface BpReport {
  build: {built: number; cached: number; cachedRemote: number}
  push: {images: {image: string; digest: string}[]}
  bytesDownloaded: number
}

const pushed = (i: {image: string; digest: string}): string => `${i.image}@${i.digest}`

describe('the README CI jobs, in simulated runners', () => {
  const setup = useRegistry({variant: 'tls-basic', base: true, project: {dappfile: DAPPFILE, files: {'hello.txt': 'hello from ci\n'}, name: 'shop'}})
  let work: string
  let pkg: string
  let caFile: string

  beforeAll(async () => {
    work = await makeTempDir('ci-jobs')
    await openPathTo(work)
    pkg = await packSlipway(work)
    // the runner's trust store knows the registry's CA, as a real runner's knows a public registry's
    caFile = await readableCopy(setup.reg.caFile!, work)
  }, 120_000)
  afterAll(async () => {
    if (work) await removeTempDir(work)
  })

  /** An empty GitLab shell-executor runner running the `images` job (GitLab's predefined variables). */
  async function gitlabJob(name: string): Promise<BpReport> {
    const file = await readmeJobFile('.gitlab-ci.yml')
    const variables = file.variables as Record<string, string>
    const job = file.images as {before_script: string[]; script: string[]; artifacts: {paths: string[]}}
    const home = await runnerDir(join(work, name, 'home'))
    const projectDir = join(work, name, 'builds', 'acme', 'shop')
    const sha = await setup.project.head()
    // GitLab fetches GIT_DEPTH commits (its default is 20) and checks the commit out detached
    await checkout(setup.project.dir, projectDir, Number(variables.GIT_DEPTH ?? '20'), {detach: sha})
    const env: Record<string, string> = {
      ...baseRunnerEnv(home),
      CI: 'true', GITLAB_CI: 'true', CI_SERVER: 'yes',
      CI_PROJECT_DIR: projectDir, CI_PROJECT_PATH: 'acme/shop', CI_PROJECT_NAME: 'shop',
      CI_COMMIT_SHA: sha, CI_COMMIT_REF_NAME: 'main', CI_COMMIT_BRANCH: 'main', CI_COMMIT_REF_SLUG: 'main',
      CI_PIPELINE_ID: '4711', CI_JOB_ID: '90210', CI_JOB_NAME: 'images',
      CI_REGISTRY: setup.reg.host, CI_REGISTRY_IMAGE: `${setup.reg.host}/acme/shop`,
      CI_REGISTRY_USER: setup.reg.username!, CI_JOB_TOKEN: setup.reg.password!,
      SSL_CERT_FILE: caFile, SLIPWAY_CA_FILE: caFile,
      ...variables,
      // a project CI/CD variable overrides the file's (GitLab's variable precedence): the package under test
      SLIPWAY_PACKAGE: pkg,
    }
    // the shell executor runs before_script and script as one bash script that stops at the first failure
    const script = ['set -eo pipefail', ...job.before_script, ...job.script].join('\n')
    const run = await runAsRunner(['--noprofile', '--norc'], script, projectDir, env)
    if (run.code !== 0) throw new Error(`the GitLab job failed (${run.code}):\n${run.output}`)
    expect(run.output).not.toContain(setup.reg.password!)
    for (const path of job.artifacts.paths) await stat(join(projectDir, path))
    return JSON.parse(await readFile(join(projectDir, job.artifacts.paths[0]!), 'utf8')) as BpReport
  }

  /** An empty GitHub-hosted runner running the `images` workflow job, step by step. */
  async function githubJob(name: string): Promise<BpReport> {
    const file = await readmeJobFile('.github/workflows/images.yml')
    const job = (file.jobs as Record<string, {env: Record<string, string>; steps: Record<string, unknown>[]}>).images!
    const home = await runnerDir(join(work, name, 'home'))
    const workspace = join(work, name, 'work', 'shop', 'shop')
    const toolcache = await runnerDir(join(work, name, 'toolcache'))
    const sha = await setup.project.head()
    const contexts = {
      secrets: {GITHUB_TOKEN: setup.reg.password!},
      github: {actor: setup.reg.username!, repository: 'Octo-Org/Shop', sha, ref_name: 'main'},
      runner: {os: 'Linux', temp: join(work, name, 'temp')},
    }
    const jobEnv: Record<string, string> = {
      ...job.env,
      // the registry GHCR stands for, and the package under test
      REGISTRY: setup.reg.host,
      SLIPWAY_PACKAGE: pkg,
    }
    let path = baseRunnerEnv(home).PATH!
    const ran: string[] = []
    let report: BpReport | undefined
    for (const step of job.steps) {
      const uses = step.uses as string | undefined
      const withArgs = (step.with ?? {}) as Record<string, string | number>
      if (uses === 'actions/checkout@v4') {
        // actions/checkout fetches fetch-depth commits (default 1) and checks the branch out
        await checkout(setup.project.dir, workspace, Number(withArgs['fetch-depth'] ?? 1), {branch: 'main'})
        ran.push(uses)
      } else if (uses === 'actions/setup-node@v4') {
        // setup-node puts a Node.js the runner user owns first on PATH, so `npm install --global` needs no root
        expect(String(withArgs['node-version'])).toBe(process.versions.node.split('.')[0])
        path = `${join(toolcache, 'bin')}:${path}`
        jobEnv.NPM_CONFIG_PREFIX = toolcache
        ran.push(uses)
      } else if (uses === 'actions/upload-artifact@v4') {
        const artifact = join(workspace, String(withArgs.path))
        report = JSON.parse(await readFile(artifact, 'utf8')) as BpReport
        ran.push(uses)
      } else if (uses) {
        throw new Error(`the simulated runner has no ${uses}`)
      } else if (step.name === 'Prepare the runner') {
        // sudo changes the host: this machine has bubblewrap and no AppArmor userns restriction already
        expect(step.run).toMatch(/apparmor_restrict_unprivileged_userns=0/)
      } else {
        const stepEnv = Object.fromEntries(Object.entries((step.env ?? {}) as Record<string, string>).map(([k, v]) => [k, githubExpression(String(v), contexts)]))
        const env: Record<string, string> = {
          ...baseRunnerEnv(home), PATH: path,
          CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: workspace, GITHUB_REPOSITORY: 'Octo-Org/Shop',
          GITHUB_ACTOR: setup.reg.username!, GITHUB_SHA: sha, GITHUB_REF: 'refs/heads/main', GITHUB_REF_NAME: 'main',
          GITHUB_REF_TYPE: 'branch', GITHUB_RUN_ID: '8675309', GITHUB_EVENT_NAME: 'push', RUNNER_OS: 'Linux',
          SSL_CERT_FILE: caFile, SLIPWAY_CA_FILE: caFile,
          ...jobEnv, ...stepEnv,
        }
        // GitHub's bash steps: `bash --noprofile --norc -eo pipefail {0}`
        const run = await runAsRunner(['--noprofile', '--norc', '-eo', 'pipefail'], githubExpression(String(step.run), contexts), workspace, env)
        if (run.code !== 0) throw new Error(`the GitHub step "${String(step.name)}" failed (${run.code}):\n${run.output}`)
        expect(run.output).not.toContain(setup.reg.password!)
        ran.push(String(step.name))
      }
    }
    expect(ran).toEqual(['actions/checkout@v4', 'actions/setup-node@v4', 'Install slipway', 'Log in to the registry', 'Build and push', 'actions/upload-artifact@v4'])
    return report!
  }

  /** A first job builds and pushes everything; a second on an empty runner builds nothing and downloads no layer. */
  async function twoRuns(job: (runner: string) => Promise<BpReport>, name: string, image: string): Promise<void> {
    const first = await job(`${name}-1`)
    expect([first.build.cached, first.build.cachedRemote]).toEqual([0, 0])
    expect(first.push.images.map((i) => i.image)).toEqual([image])

    const mark = await markTraffic(setup.reg)
    const second = await job(`${name}-2`)
    const traffic = await registryTraffic(setup.reg, mark)
    expect(second.build.built).toBe(0)
    expect(second.build.cachedRemote).toBe(first.build.built)
    expect(second.push.images.map(pushed)).toEqual(first.push.images.map(pushed))
    expect(traffic.layerBytesDownloaded).toBe(0)
  }

  it('GitLab CI: the job pushes the image and its stages; the next job on an empty runner builds nothing and downloads no layer', async () => {
    await twoRuns(gitlabJob, 'gitlab', `${setup.reg.host}/acme/shop:main`)
  }, 300_000)

  it('GitHub Actions: login, build and push to the lower-cased repository; the next run on an empty runner builds nothing and downloads no layer', async () => {
    await twoRuns(githubJob, 'github', `${setup.reg.host}/octo-org/shop:main`)
  }, 300_000)
})
