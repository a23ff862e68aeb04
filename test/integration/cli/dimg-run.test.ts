import {spawn} from 'node:child_process'

import {runSlipway, SLIPWAY_BIN} from '../../helpers/cli.js'
import {makeProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'

describe('dimg run', () => {
  // setup.home is private (mkdtemp makes it 0700): a non-root USER must still reach its root
  const setup = useRegistry({base: true, project: {fromExample: true, name: 'runner'}})

  beforeAll(async () => {
    const built = await runSlipway(['dimg', 'build', '--dir', setup.project.dir], {env: {SLIPWAY_HOME: setup.home}})
    expect(built.code).toBe(0)
  })

  const run = (args: string[]) => runSlipway(['dimg', 'run', ...args.slice(0, 1), '--dir', setup.project.dir, ...args.slice(1)], {env: {SLIPWAY_HOME: setup.home}})

  it('runs the entrypoint with the image env', async () => {
    const r = await run(['worker'])
    expect(r.stdout).toBe('worker example: 1 files in /app, running as root\n')
    expect(r.code).toBe(0)
  })

  it('replaces CMD after --, runs as the image USER in its WORKDIR, and exits with the command exit code', async () => {
    const r = await run(['web', '--', 'sh', '-c', 'id -un; pwd; cat index.html | grep -o "Slipway 1.0.0"; echo "$GREETING"; exit 3'])
    expect(r.stdout).toBe('www\n/var/www\nSlipway 1.0.0\nhello from slipway\n')
    expect(r.code).toBe(3)
  })

  it('asks which dimg when the project has several', async () => {
    const r = await run([])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe('slipway: the project has 2 dimgs (web, worker): name the one to run: slipway dimg run DIMG [-- COMMAND ...]')
  })

  it('--introspect-error opens a shell in the failed stage\'s root on a terminal', async () => {
    const failing = await makeProject({
      registryHost: setup.reg.host,
      dappfile: 'from: localhost:5000/base/busybox:latest\nshell:\n  install:\n    - echo hello > /made-by-stage\n    - "false"\n',
      name: 'introspect',
    })
    // script(1) gives the build a terminal; the "user" types into it once the shell is up
    const child = spawn('script', ['-qfec', `${process.execPath} ${SLIPWAY_BIN} dimg build --dir ${failing.dir} --introspect-error`, '/dev/null'], {
      env: {...process.env, SLIPWAY_HOME: setup.home},
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let out = ''
    let typed = false
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
      if (out.includes('/ #') && !typed) {
        typed = true
        child.stdin.write('cat /made-by-stage && echo FOUND-$((40+2))\nexit\n')
      }
    })
    const code = await new Promise<number | null>(resolve => child.on('close', resolve))
    expect(out).toContain('FOUND-42')
    expect(out).toContain('hello')
    expect(out).toMatch(/slipway: introspect: stage install failed: a command exited with code 1/)
    expect(code).toBe(9)
  })
})
