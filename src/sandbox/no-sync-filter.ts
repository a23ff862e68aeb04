/**
 * A seccomp filter (classic BPF, as bwrap's `--seccomp FD` reads it) under which fsync, fdatasync, syncfs,
 * sync and sync_file_range return success without flushing anything, as mmdebstrap's eatmydata mode and
 * dpkg's force-unsafe-io do for the same reason: a stage root is scratch space, thrown away if the build
 * dies. What is kept of it is the layer, read from the page cache and made durable by the store's own
 * fsync (store/blob-writer.ts); a kept root is never fsynced either way (stage-roots.ts). dpkg alone
 * fsyncs every file it unpacks: ~1,200 calls, seconds of a stage, for `apt-get install python3`.
 * Every other call, and every call of another architecture's ABI, goes through untouched, so the filter
 * can only make a stage faster, never refuse it anything. bwrap sets no_new_privs whether or not it loads
 * a filter, so setuid programs in the stage behave as they did.
 */
const BPF_LD_W_ABS = 0x20
const BPF_JEQ_K = 0x15
const BPF_RET_K = 0x06
const SECCOMP_RET_ALLOW = 0x7fff0000
const SECCOMP_RET_ERRNO = 0x00050000 // | errno; errno 0 is a success that skips the call
const OFFSET_NR = 0 // struct seccomp_data: int nr; u32 arch; ...
const OFFSET_ARCH = 4

/** The audit architecture and the sync calls' numbers, by Node's process.arch. */
const SYNC_CALLS: Record<string, {arch: number; calls: number[]}> = {
  // fsync 74, fdatasync 75, sync 162, sync_file_range 277, syncfs 306 (arch/x86/entry/syscalls/syscall_64.tbl)
  x64: {arch: 0xc000003e, calls: [74, 75, 162, 277, 306]},
  // sync 81, fsync 82, fdatasync 83, sync_file_range 84, syncfs 267 (include/uapi/asm-generic/unistd.h)
  arm64: {arch: 0xc00000b7, calls: [81, 82, 83, 84, 267]},
}

function instruction(code: number, jt: number, jf: number, k: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeUInt16LE(code, 0)
  b.writeUInt8(jt, 2)
  b.writeUInt8(jf, 3)
  b.writeUInt32LE(k >>> 0, 4)
  return b
}

/** The filter program for this architecture, or undefined where we have no table (stages then fsync as usual). */
export function noSyncFilter(arch: string = process.arch): Buffer | undefined {
  const table = SYNC_CALLS[arch]
  if (!table) return undefined
  const n = table.calls.length
  return Buffer.concat([
    instruction(BPF_LD_W_ABS, 0, 0, OFFSET_ARCH),
    instruction(BPF_JEQ_K, 0, n + 1, table.arch), // another ABI: to ALLOW
    instruction(BPF_LD_W_ABS, 0, 0, OFFSET_NR),
    ...table.calls.map((nr, i) => instruction(BPF_JEQ_K, n - i, 0, nr)), // a sync call: to ERRNO(0)
    instruction(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
    instruction(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO),
  ])
}
