/** apt-get in a real Debian root, in both isolations: apt drops to its `_apt` user to fetch and to check the
 *  repository's signature (gpgv writes its temp files to /tmp, so /tmp must be 1777), a package's maintainer
 *  script adds a system user and chowns to it — what a root build's user namespace must allow.
 *  The Debian root comes from mmdebstrap (scripts/setup.sh installs it), made once per run (~40 s); the
 *  repository is a local one signed with a throwaway key that only its sources line trusts (signed-by). */
import {execFile, execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmod, lstat, mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {runStage, type Isolation} from '../../../src/sandbox/run-stage.js'
import {useRootsDir} from '../../helpers/roots.js'

const run = promisify(execFile)
const hasMmdebstrap = (() => {
  try {
    execFileSync('mmdebstrap', ['--version'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
})()
const describeWithDebian = process.getuid?.() === 0 && hasMmdebstrap ? describe : describe.skip

/** A package whose postinst adds a system user (uid 3001) and gives it a directory, in a flat repository
 *  whose InRelease is signed by a throwaway key; the key's public part is key.gpg in the repository. */
async function makeRepository(dir: string): Promise<string> {
  const pkg = join(dir, 'pkg')
  await mkdir(join(pkg, 'DEBIAN'), {recursive: true})
  await mkdir(join(pkg, 'usr/share/slipway-probe'), {recursive: true})
  await writeFile(join(pkg, 'usr/share/slipway-probe/README'), 'probe\n')
  await writeFile(join(pkg, 'DEBIAN/control'), 'Package: slipway-probe\nVersion: 1.0\nArchitecture: all\nMaintainer: Slipway <slipway@example.invalid>\nDescription: test package\n')
  await writeFile(join(pkg, 'DEBIAN/postinst'), '#!/bin/sh\nset -e\ngroupadd --system --gid 3001 probe\nuseradd --system --uid 3001 --gid probe --home-dir /var/lib/probe --create-home probe\nchown probe:probe /var/lib/probe\n')
  await chmod(join(pkg, 'DEBIAN/postinst'), 0o755)
  const repo = join(dir, 'repo')
  await mkdir(repo)
  await run('dpkg-deb', ['--root-owner-group', '--build', pkg, join(repo, 'slipway-probe_1.0_all.deb')])
  const {stdout} = await run('dpkg-scanpackages', ['.', '/dev/null'], {cwd: repo})
  await writeFile(join(repo, 'Packages'), stdout)
  await signRepository(dir, repo, stdout)
  return repo
}

async function signRepository(dir: string, repo: string, packages: string): Promise<void> {
  const sha256 = createHash('sha256').update(packages).digest('hex')
  const release = ['Origin: slipway-test', 'Label: slipway-test', 'Suite: probe', 'Codename: probe',
    `Date: ${new Date().toUTCString()}`, 'Architectures: all amd64', 'SHA256:',
    ` ${sha256} ${Buffer.byteLength(packages)} Packages`, ''].join('\n')
  await writeFile(join(repo, 'Release'), release)
  const home = join(dir, 'gnupg')
  await mkdir(home, {mode: 0o700})
  const gpg = (...args: string[]) => run('gpg', ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args])
  try {
    await gpg('--quick-gen-key', 'Slipway test repository <test@slipway.invalid>', 'ed25519', 'sign', 'never')
    await gpg('--output', join(repo, 'key.gpg'), '--export')
    await gpg('--output', join(repo, 'InRelease'), '--clearsign', join(repo, 'Release'))
  } finally {
    await run('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']).catch(() => {})
  }
}

describeWithDebian('apt-get in a Debian root', () => {
  const work = useRootsDir()
  let debianTar: string
  let repo: string
  beforeAll(async () => {
    debianTar = join(work.path, 'debian.tar')
    await run('mmdebstrap', ['--variant=minbase', '--quiet', 'bookworm', debianTar, 'http://deb.debian.org/debian'], {maxBuffer: 64 << 20})
    repo = await makeRepository(work.path)
  }, 600_000)

  it.each(['namespaces', 'chroot'] as Isolation[])('updates from a signed repository, /tmp 1777, and installs a package whose postinst adds a user, with %s isolation', async isolation => {
    const root = join(work.path, `root-${isolation}`)
    await mkdir(root)
    await run('tar', ['-xf', debianTar, '-C', root])
    const tail: string[] = []
    await runStage({root, isolation, mounts: [{hostPath: repo, path: '/srv/repo', readOnly: true}], onOutput: l => tail.push(l), commands: [
      'echo "/tmp mode $(stat -c %a /tmp)"',
      'echo "deb [signed-by=/srv/repo/key.gpg] file:/srv/repo ./" > /etc/apt/sources.list.d/local.list',
      'apt-get -q update -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/local.list -o Dir::Etc::sourceparts=-',
      'DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends slipway-probe',
      'id probe',
    ]}).catch((e: Error) => {
      throw new Error(`${e.message}\n${tail.slice(-20).join('\n')}`)
    })
    expect(tail).toContain('/tmp mode 1777')
    expect(tail).toContain('uid=3001(probe) gid=3001(probe) groups=3001(probe)')
    const st = await lstat(join(root, 'var/lib/probe'))
    expect([st.uid, st.gid]).toEqual([3001, 3001])
    expect((await lstat(join(root, 'usr/share/slipway-probe/README'))).uid).toBe(0)
  }, 300_000)
})
