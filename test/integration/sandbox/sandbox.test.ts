import {lstat, mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {diffLayer} from '../../../src/layer/diff.js'
import {runStage, StageCommandError, type RunStageOptions} from '../../../src/sandbox/run-stage.js'
import {snapshot} from '../../../src/layer/snapshot.js'
import {SlipwayError} from '../../../src/errors.js'
import {busyboxRoot, tempDir} from '../../helpers/roots.js'

async function run(options: RunStageOptions): Promise<{lines: string[]; streams: string[]}> {
  const lines: string[] = []
  const streams: string[] = []
  await runStage({...options, onOutput: (l, s) => {
    lines.push(l)
    streams.push(s)
  }})
  return {lines, streams}
}

async function exists(p: string): Promise<boolean> {
  return (await lstat(p).catch(() => null)) !== null
}

describe.each(['namespaces', 'chroot'] as const)('shell stages with %s isolation', isolation => {
  let dir: string
  let root: string
  beforeAll(async () => {
    dir = await tempDir()
    root = join(dir, 'root')
    await busyboxRoot(root)
  })
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  it('runs the commands in the root and leaves only their changes behind', async () => {
    const before = await snapshot(root)
    const {lines} = await run({root, isolation, commands: [
      'echo hi > /x',
      'id -u',
      'ls /dev | tr "\\n" " "; echo',
      'echo procs=$(ls /proc | grep -c "^[0-9]")',
      'cat /proc/1/cmdline | tr "\\0" "\\n" | head -1',
      'hostname',
      'touch /tmp/scratch && ls /tmp',
    ]})
    expect(await readFile(join(root, 'x'), 'utf8')).toBe('hi\n')
    expect(lines[0]).toBe('0')
    for (const node of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) expect(lines[1]!.split(' ')).toContain(node)
    expect(lines[4]).toBe(isolation === 'namespaces' ? 'slipway-build' : (await readFile('/proc/sys/kernel/hostname', 'utf8')).trim())
    expect(lines[5]).toBe('scratch')
    expect(lines).toHaveLength(6)
    if (isolation === 'namespaces') {
      expect(Number(lines[2]!.slice('procs='.length))).toBeLessThan(10) // own pid namespace
      expect(lines[3]).toMatch(/^(\/usr\/bin\/bwrap|bwrap|\/bin\/sh)$/) // pid 1 is our sandbox, not the host init
    }
    // /proc, /dev, /tmp and /etc/resolv.conf mount points are gone again; /tmp was a tmpfs.
    expect(await diffLayer(before, root)).toEqual([{kind: 'added', path: 'x'}])
    expect(await readFile('/proc/self/mounts', 'utf8')).not.toContain(root)
  })

  it('honours the image Env, User and WorkingDir and sees the host resolv.conf', async () => {
    const {lines} = await run({root, isolation, env: ['FOO=bar baz', 'PATH=/bin'], user: 'app', workingDir: '/home/app', commands: [
      'echo "$FOO"', 'id -u', 'id -g', 'pwd', 'echo "$HOME"', 'touch mine', 'cat /etc/resolv.conf | wc -l',
    ]})
    expect(lines.slice(0, 5)).toEqual(['bar baz', '1000', '1001', '/home/app', '/home/app'])
    expect(Number(lines[5])).toBe((await readFile('/etc/resolv.conf', 'utf8')).split('\n').length - 1)
    const st = await lstat(join(root, 'home/app/mine'))
    expect([st.uid, st.gid]).toEqual([1000, 1001])

    const {lines: asGroup} = await run({root, isolation, user: '1000:staff', workingDir: '/srv/new', commands: ['id -g', 'pwd']})
    expect(asGroup).toEqual(['50', '/srv/new'])
    expect((await lstat(join(root, 'srv/new'))).uid).toBe(0)
  })

  it('bind-mounts extra host directories and removes their mount points afterwards', async () => {
    const host = join(dir, 'build-dir')
    await mkdir(host)
    await writeFile(join(host, 'in'), 'from host')
    const {lines} = await run({root, isolation, mounts: [{hostPath: host, path: '/mnt/build'}], commands: ['cat /mnt/build/in; echo', 'echo out > /mnt/build/out']})
    expect(lines).toEqual(['from host'])
    expect(await readFile(join(host, 'out'), 'utf8')).toBe('out\n')
    expect(await exists(join(root, 'mnt'))).toBe(false)
  })

  it('reports a failing command with its exit code and last output lines', async () => {
    const seen: string[] = []
    const err = await runStage({root, isolation, commands: ['echo one', 'echo two >&2', 'exit 3', 'echo never'], onOutput: (l, s) => seen.push(`${s}:${l}`)}).then(() => null, (e: unknown) => e)
    expect(err).toBeInstanceOf(StageCommandError)
    expect(err).toMatchObject({kind: 'build', commandExitCode: 3, outputTail: ['one', 'two']})
    expect(seen).toEqual(['stdout:one', 'stderr:two'])
    await expect(runStage({root, isolation, commands: ['false_cmd_does_not_exist', 'echo after']})).rejects.toMatchObject({commandExitCode: 127})
  })

  it(`${isolation === 'namespaces' ? 'skips' : 'makes'} the sync calls of its commands`, async () => {
    // fdatasync of a pipe is EINVAL when the call reaches the kernel; under the no-sync filter it succeeds unrun
    const {lines} = await run({root, isolation, commands: ['if echo | sync -d /dev/stdin 2>/dev/null; then echo skipped; else echo made; fi']})
    expect(lines).toEqual([isolation === 'namespaces' ? 'skipped' : 'made'])
  })

  it('refuses a root without /bin/sh and an unknown user', async () => {
    const empty = join(dir, 'empty')
    await mkdir(empty, {recursive: true})
    await expect(runStage({root: empty, isolation, commands: ['true']})).rejects.toMatchObject({kind: 'build', message: expect.stringContaining('no /bin/sh')})
    await expect(runStage({root, isolation, user: 'nobody-here', commands: ['true']})).rejects.toBeInstanceOf(SlipwayError)
  })
})
