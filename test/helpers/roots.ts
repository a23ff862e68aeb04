import {createHash} from 'node:crypto'
import {chmod, chown, copyFile, lstat, mkdir, readFile, readdir, readlink, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {LayerBlob, LayerStream} from '../../src/layer/layer-writer.js'
import {makeTempDir, useTempDir} from './tmp.js'

// Stage roots and layers for the layer and sandbox tests: temp roots other users can reach, a busybox root,
// a tree's description, a layer stream collected.

export async function tempDir(prefix = 'build'): Promise<string> {
  const dir = await makeTempDir(prefix)
  await chmod(dir, 0o755) // sandboxes running as another user must reach roots inside
  return dir
}

/** A temp dir for a describe block that sandboxes running as another user can reach (see useTempDir). */
export function useRootsDir(): {readonly path: string} {
  return useTempDir('build', {mode: 0o755})
}

const APPLETS = ['sh', 'echo', 'id', 'hostname', 'ls', 'cat', 'mkdir', 'pwd', 'touch', 'env', 'grep', 'wc', 'tr', 'head', 'sleep']

/** A minimal image root: static busybox (the given applets) plus passwd/group with root and app (1000). */
export async function busyboxRoot(root: string, applets: string[] = APPLETS): Promise<void> {
  await mkdir(join(root, 'bin'), {recursive: true})
  await copyFile('/bin/busybox', join(root, 'bin/busybox'))
  await chmod(join(root, 'bin/busybox'), 0o755)
  for (const a of applets) await symlink('busybox', join(root, 'bin', a))
  await mkdir(join(root, 'etc'))
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n')
  await writeFile(join(root, 'etc/group'), 'root:x:0:\napp:x:1001:\nstaff:x:50:\n')
  await mkdir(join(root, 'home/app'), {recursive: true})
  await chown(join(root, 'home/app'), 1000, 1001)
}

export interface TreeNode {
  type: 'file' | 'dir' | 'symlink' | 'other'
  mode: number
  uid: number
  gid: number
  sha?: string
  target?: string
  ino?: number
}

/** Everything observable about a tree except timestamps; hard links show as equal `ino` groups. */
export async function describeTree(root: string): Promise<Record<string, TreeNode>> {
  const out: Record<string, TreeNode> = {}
  const inodes = new Map<number, number>()
  async function walk(rel: string): Promise<void> {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name
      const abs = join(root, path)
      const st = await lstat(abs)
      const node: TreeNode = {type: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid}
      if (st.isFile()) {
        node.sha = createHash('sha256').update(await readFile(abs)).digest('hex')
        if (st.nlink > 1) {
          if (!inodes.has(st.ino)) inodes.set(st.ino, inodes.size + 1)
          node.ino = inodes.get(st.ino)
        }
      }
      if (st.isSymbolicLink()) node.target = await readlink(abs)
      if (st.isSymbolicLink()) node.mode = 0
      out[path] = node
      if (st.isDirectory()) await walk(path)
    }
  }
  await walk('')
  return out
}

export async function collectLayer(layer: LayerStream): Promise<{data: Buffer; blob: LayerBlob}> {
  const chunks: Buffer[] = []
  for await (const c of layer.stream) chunks.push(c as Buffer)
  return {data: Buffer.concat(chunks), blob: await layer.done}
}
