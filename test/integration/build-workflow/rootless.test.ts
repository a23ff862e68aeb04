import {execFile} from 'node:child_process'
import {chmod} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {promisify} from 'node:util'

import {SLIPWAY_BIN} from '../../helpers/cli.js'
import {makeProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {build, buildEnv, manifestOf} from './support.js'

const exec = promisify(execFile)
const NOBODY = 65534

async function lastLayerOf(home: string, signature: string, project: string): Promise<string> {
  return (await manifestOf(home, `dimgstage-${project}:${signature}`)).layers.at(-1)!.digest
}

/** A CI runner without root: user namespaces map root in the sandbox to the runner's own uid. */
describe('dimg build as an unprivileged user', () => {
  const setup = useRegistry({base: true})

  it('builds, records files as root\'s like a root build, and gives the same layer digests', async () => {
    const dappfile = 'from: localhost:5000/base/busybox:latest\nshell:\n  install:\n    - echo hi > /hi\n    - mkdir -p /opt/tool && echo run > /opt/tool/run\n'
    const project = await makeProject({registryHost: setup.reg.host, dappfile, name: 'rootless'})
    await chmod(dirname(project.dir), 0o755)
    const asRoot = setup.freshHome()
    const asNobody = setup.freshHome()
    await chmod(asNobody, 0o777)
    const rootReport = await build(project.dir, buildEnv(setup.reg, asRoot))
    const asNobodyRun = (env: Record<string, string>) =>
      exec('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, SLIPWAY_BIN, 'dimg', 'build', '--json', '--dir', project.dir], {
        env: {...process.env, HOME: asNobody, SLIPWAY_HOME: asNobody, ...env},
      })

    // the checkout is root's: git refuses it to another user, and slipway says so instead of building without git
    const gitConfig = join(asNobody, 'gitconfig')
    const refused = await asNobodyRun({GIT_CONFIG_GLOBAL: gitConfig}).then(
      () => ({code: 0, stderr: ''}),
      (e: {code: number; stderr: string}) => e,
    )
    expect(refused.code).toBe(10)
    expect(refused.stderr.trim()).toMatch(/^slipway: git refuses the repository at .* it is owned by another user: run `git config --global --add safe.directory/)

    await exec('git', ['config', '--file', gitConfig, '--add', 'safe.directory', '*'])
    await chmod(gitConfig, 0o644)
    const {stdout} = await asNobodyRun({GIT_CONFIG_GLOBAL: gitConfig})
    const nobodyReport = JSON.parse(stdout)
    expect(nobodyReport.built).toBe(2)
    const signature = nobodyReport.dimgs[0].signature
    expect(signature).toBe(rootReport.dimgs[0].signature)
    expect(await lastLayerOf(asNobody, signature, 'rootless')).toBe(await lastLayerOf(asRoot, signature, 'rootless'))
  })
})
