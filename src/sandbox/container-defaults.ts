/** What docker/containerd/buildah give a container by default, as bubblewrap arguments: the capability set
 *  (moby daemon/pkg/oci/caps/defaults.go) and the masked and read-only /proc and /sys paths (moby
 *  daemon/pkg/oci/defaults.go). */
import {lstat} from 'node:fs/promises'

export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
]

const MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/sched_debug',
  '/proc/scsi', '/proc/timer_list', '/proc/timer_stats', '/sys/devices/virtual/powercap', '/sys/firmware',
]
const READ_ONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']

/** Root keeps exactly the default set; any other uid starts with none, as in a docker container. */
export function capabilityArgs(uid: number): string[] {
  const args = ['--cap-drop', 'ALL']
  if (uid === 0) for (const cap of DEFAULT_CAPABILITIES) args.push('--cap-add', cap)
  return args
}

/**
 * /sys read-only (the host's, as buildah's chroot isolation binds it: a new sysfs needs a network namespace
 * of our own), then the masks: a file becomes /dev/null, a directory an empty read-only tmpfs, as runc does.
 * Paths this kernel does not have are skipped (bwrap cannot create them in /proc). Must follow `--proc /proc`.
 */
export async function procAndSysArgs(): Promise<string[]> {
  const args = ['--ro-bind', '/sys', '/sys']
  // Bound from the host's /proc: what a /proc/sys file shows and changes depends on the namespaces of the
  // process using it, not on the /proc instance it is reached through.
  for (const path of READ_ONLY_PATHS) if (await lstat(path).catch(() => null)) args.push('--ro-bind', path, path)
  for (const path of MASKED_PATHS) {
    const st = await lstat(path).catch(() => null)
    if (st?.isDirectory()) args.push('--tmpfs', path, '--remount-ro', path)
    else if (st) args.push('--dev-bind', '/dev/null', path) // --ro-bind would add nodev: reads would fail, not be empty
  }
  return args
}
