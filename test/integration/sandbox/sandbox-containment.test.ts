/** What a shell stage cannot do to the host, and what it leaves behind: the attacks of issue 14 run in the
 *  real bubblewrap sandbox and the real chroot isolation (as root: the CI and this suite run as root). */
import {execFileSync} from 'node:child_process'
import {lstat, mkdir, readFile, readdir, readlink, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {diffLayer} from '../../../src/layer/diff.js'
import {writeLayer} from '../../../src/layer/root-layer.js'
import {runStage, StageCommandError, type Isolation, type RunStageOptions} from '../../../src/sandbox/run-stage.js'
import {snapshot} from '../../../src/layer/snapshot.js'
import {listTar} from '../../helpers/tar.js'
import {busyboxRoot, collectLayer, tempDir} from '../../helpers/roots.js'

const BUSYBOX_APPLETS = execFileSync('/bin/busybox', ['--list'], {encoding: 'utf8'}).split('\n').filter(a => a && a !== 'busybox')
const asRoot = process.getuid?.() === 0
const describeAsRoot = asRoot ? describe : describe.skip

/** docker/containerd/buildah's default capability set (moby oci/caps/defaults.go), as /proc/PID/status prints it. */
const DOCKER_DEFAULT_CAPS = '00000000a80425fb'

async function output(options: RunStageOptions): Promise<string[]> {
  const lines: string[] = []
  await runStage({...options, onOutput: l => lines.push(l)})
  return lines
}

/** Host pids whose root directory is `dir` or inside it (read straight from /proc, as `dimg cleanup` must). */
async function processesRootedIn(dir: string): Promise<number[]> {
  const pids: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const root = await readlink(`/proc/${name}/root`).catch(() => null)
    if (root !== null && (root === dir || root.startsWith(`${dir}/`))) pids.push(Number(name))
  }
  return pids
}

async function mountsUnder(dir: string): Promise<string[]> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map(l => l.split(' ')[4] ?? '')
    .filter(p => p === dir || p.startsWith(`${dir}/`))
}

/** A temp dir holding `root`: a busybox root with these extra (empty) directories. */
async function stageRoot(extraDirs: string[]): Promise<{dir: string; root: string}> {
  const dir = await tempDir()
  const root = join(dir, 'root')
  await busyboxRoot(root, BUSYBOX_APPLETS)
  for (const d of extraDirs) await mkdir(join(root, d))
  return {dir, root}
}

describeAsRoot('a root build\'s namespace sandbox', () => {
  let dir: string
  let root: string
  beforeAll(async () => {
    ;({dir, root} = await stageRoot(['sys', 'mnt']))
  })
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  // Each command succeeds only if the attack does; the stage must fail.
  const attacks: Array<[string, string]> = [
    ['mount a tmpfs', 'mount -t tmpfs x /mnt'],
    ['bind-mount a directory', 'mount --bind /bin /mnt'],
    ['mount a fresh /proc and write its /proc/sys', 'mkdir -p /tmp/p && mount -t proc proc /tmp/p && echo 4 > /tmp/p/sys/vm/drop_caches'],
    ['create a block device', 'mknod /tmp/sda b 8 0'],
    ['write /proc/sys/vm/drop_caches', 'echo 4 > /proc/sys/vm/drop_caches'], // 4: only silences the "dropped" message
    ['write a /proc/sys/kernel setting', 'cat /proc/sys/kernel/printk_ratelimit > /tmp/v; cat /tmp/v > /proc/sys/kernel/printk_ratelimit'],
    ['write /sys', 'touch /sys/probe'],
    ['read /proc/timer_list', '[ "$(head -c 1 /proc/timer_list | wc -c)" -eq 1 ]'],
    ['unshare a mount namespace and mount there', 'unshare -m sh -c "mount -t tmpfs x /mnt"'],
    ['unshare a user namespace to mount and remount there', 'unshare -r -m sh -c "mount -t tmpfs x /mnt"'],
  ]
  it.each(attacks)('as root, a stage cannot %s', async (_what, attack) => {
    const err = await runStage({root, commands: [attack]}).then(() => null, (e: unknown) => e)
    expect(err).toBeInstanceOf(StageCommandError)
    expect(await mountsUnder(root)).toEqual([])
  })

  it('runs root with exactly docker\'s default capabilities, in its own user namespace', async () => {
    const lines = await output({root, commands: ['grep -E "^Cap(Eff|Prm|Bnd):" /proc/self/status', 'readlink /proc/self/ns/user', 'id -u']})
    expect(lines.slice(0, 3)).toEqual([`CapPrm:\t${DOCKER_DEFAULT_CAPS}`, `CapEff:\t${DOCKER_DEFAULT_CAPS}`, `CapBnd:\t${DOCKER_DEFAULT_CAPS}`])
    expect(lines[3]).not.toBe(await readlink('/proc/self/ns/user'))
    expect(lines[4]).toBe('0')
  })

  it('masks and write-protects the /proc and /sys paths docker does', async () => {
    const onHost = async (paths: string[]): Promise<string[]> => (await Promise.all(paths.map(async p => ((await lstat(p).catch(() => null)) ? p : '')))).filter(Boolean)
    // moby daemon/pkg/oci/defaults.go; which of them exist depends on the kernel
    const masked = await onHost(['/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/sched_debug', '/proc/timer_list', '/proc/timer_stats'])
    const maskedDirs = await onHost(['/proc/acpi', '/proc/asound', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'])
    const readOnly = [...await onHost(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']), '/sys']
    const lines = await output({root, commands: [
      ...masked.map(p => `echo "${p} $(head -c 100 ${p} | wc -c)"`),
      ...maskedDirs.map(p => `echo "${p} $(ls -A ${p} | wc -l)"`),
      ...readOnly.map(p => `echo "${p} $(grep " ${p} " /proc/self/mountinfo | cut -d" " -f6 | cut -d, -f1 | sort -u | tr "\\n" " ")"`),
    ]})
    expect(masked).toContain('/proc/timer_list')
    expect(maskedDirs).toContain('/sys/firmware')
    expect(lines).toEqual([...masked.map(p => `${p} 0`), ...maskedDirs.map(p => `${p} 0`), ...readOnly.map(p => `${p} ro `)])
  })

  it('as root, chowns to any uid/gid, adds users and switches to them; the layer keeps those owners', async () => {
    await mkdir(join(root, 'home/app'), {recursive: true})
    const before = await snapshot(root)
    const lines = await output({root, commands: [
      'mkdir /data && cd /data',
      'touch f g h && chown 1234:5678 f && chown 65534 g && chown 4000000:4000001 h',
      'su app -s /bin/sh -c "id -u; touch /home/app/by-app"',
      // what adduser does (Debian's busybox has no adduser applet)
      'echo "bob:x:2001:2001::/home/bob:/bin/sh" >> /etc/passwd && echo "bob:x:2001:" >> /etc/group',
      'mkdir -p /home/bob && chown bob:bob /home/bob && su bob -s /bin/sh -c "touch /home/bob/by-bob; id -un"',
      'mknod /tmp/null c 1 3 2>/dev/null && echo char-device-made || echo no-char-device',
    ]})
    expect(lines).toEqual(['1000', 'bob', 'no-char-device'])
    const owners = async (p: string): Promise<number[]> => {
      const st = await lstat(join(root, p))
      return [st.uid, st.gid]
    }
    expect(await owners('data/f')).toEqual([1234, 5678])
    expect(await owners('data/g')).toEqual([65534, 0])
    expect(await owners('data/h')).toEqual([4000000, 4000001])
    expect(await owners('home/app/by-app')).toEqual([1000, 1001])
    expect(await owners('home/bob/by-bob')).toEqual([2001, 2001])
    const entries = await listTar((await collectLayer(writeLayer(root, await diffLayer(before, root)))).data)
    const owner = (name: string): number[] => {
      const e = entries.find(x => x.name === name)
      // ids over 0o777777 are in PAX records (which tar-stream leaves in `pax`)
      return e ? [Number(e.pax?.uid ?? e.uid), Number(e.pax?.gid ?? e.gid)] : []
    }
    expect(owner('data/f')).toEqual([1234, 5678])
    expect(owner('data/g')).toEqual([65534, 0])
    expect(owner('data/h')).toEqual([4000000, 4000001])
    expect(owner('home/bob/by-bob')).toEqual([2001, 2001])
    expect(entries.find(x => x.name === 'etc/passwd')?.content).toContain('bob:x:2001:2001:')
  })

  it('runs a non-root image user as that uid without capabilities, in the same full id map', async () => {
    const lines = await output({root, user: 'app', commands: ['id -u', 'id -G', 'grep -E "^CapEff:" /proc/self/status', 'cat /proc/self/uid_map | tr -s " " | sed "s/^ //"', 'chown 0 /home/app 2>/dev/null && echo chowned || echo refused']})
    expect(lines).toEqual(['1000', '1001', 'CapEff:\t0000000000000000', '0 0 4294967295', 'refused'])
  })
})

describe.each(['namespaces', 'chroot'] as Isolation[])('a stage\'s processes and mounts with %s isolation', isolation => {
  const runsHere = asRoot || isolation === 'namespaces'
  const maybe = runsHere ? it : it.skip
  let dir: string
  let root: string
  beforeAll(async () => {
    ;({dir, root} = await stageRoot(['mnt']))
  })
  afterAll(async () => {
    for (const pid of await processesRootedIn(root)) process.kill(pid, 'SIGKILL')
    await rm(dir, {recursive: true, force: true})
  })

  const daemons = [
    'sleep 1000 >/dev/null 2>&1 &',
    'setsid sleep 1000 >/dev/null 2>&1 &',
    '(sh -c "sleep 1000 >/dev/null 2>&1 &" &)', // double-forked: reparented away from the stage's shell
  ]

  maybe('ends background processes and daemons with the stage', async () => {
    await runStage({root, isolation, commands: [...daemons, 'echo started']})
    expect(await processesRootedIn(root)).toEqual([])
    expect(await mountsUnder(root)).toEqual([])
  })

  maybe('ends them and removes the stage\'s own mounts when the stage fails', async () => {
    const mount = isolation === 'chroot' ? ['mount -t tmpfs x /mnt', 'mkdir -p /mnt/in && mount -t tmpfs y /mnt/in'] : []
    const err = await runStage({root, isolation, commands: [...daemons, ...mount, 'exit 7']}).then(() => null, (e: unknown) => e)
    expect(err).toMatchObject({commandExitCode: 7})
    expect(await processesRootedIn(root)).toEqual([])
    expect(await mountsUnder(root)).toEqual([])
  })

  maybe('stops the whole stage promptly when its signal aborts', async () => {
    const controller = new AbortController()
    const started = Date.now()
    setTimeout(() => controller.abort(), 1000)
    const err = await runStage({root, isolation, signal: controller.signal, commands: ['setsid sleep 1000 >/dev/null 2>&1 &', 'sleep 30']}).then(() => null, (e: unknown) => e)
    expect(err).toMatchObject({name: 'AbortError'})
    expect(Date.now() - started).toBeLessThan(10_000) // `sleep 30` did not run to its end
    expect(await processesRootedIn(root)).toEqual([])
    expect(await mountsUnder(root)).toEqual([])
  })

  maybe('does not start a stage whose signal has already aborted', async () => {
    const err = await runStage({root, isolation, signal: AbortSignal.abort(), commands: ['touch /never']}).then(() => null, (e: unknown) => e)
    expect(err).toMatchObject({name: 'AbortError'})
    expect(await lstat(join(root, 'never')).catch(() => null)).toBeNull()
  })
})
