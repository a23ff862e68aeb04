import {execFile} from 'node:child_process'
import {readdir} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {promisify} from 'node:util'

import {runSkopeo} from '../../helpers/base-image.js'
import {freshHome, runSlipway, type CliResult} from '../../helpers/cli.js'
import type {TestRegistry} from '../../helpers/registry.js'
import {removeTempDir} from '../../helpers/tmp.js'

const run = promisify(execFile)

/** Several "hosts" (SLIPWAY_HOMEs) running the built CLI against one project directory. */
export class Hosts {
  private readonly homes: string[] = []

  constructor(private readonly projectDir: () => string) {}

  make(): string {
    const h = freshHome('cleanup-home')
    this.homes.push(h)
    return h
  }

  /** `dimg …` commands get `--dir PROJECT` unless they name one. */
  run(home: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    const withDir = args[0] === 'dimg' && !args.includes('--dir') && args[1] !== 'cleanup' ? [...args, '--dir', this.projectDir()] : args
    return runSlipway(withDir, {env: {SLIPWAY_HOME: home, ...env}})
  }

  async json<T = any>(home: string, args: string[], env: Record<string, string> = {}): Promise<T> {
    const r = await this.run(home, [...args, '--json'], env)
    if (r.code !== 0) throw new Error(`slipway ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return JSON.parse(r.stdout) as T
  }

  async removeAll(): Promise<void> {
    for (const h of this.homes) await removeTempDir(h)
  }
}

/** Tags of a repository as skopeo sees them, sorted; [] when the repository does not exist. */
export async function tagsOf(repository: string): Promise<string[]> {
  try {
    const r = await runSkopeo(['list-tags', '--tls-verify=false', `docker://${repository}`])
    return ((JSON.parse(r.stdout) as {Tags: string[] | null}).Tags ?? []).sort()
  } catch (e) {
    if (/name unknown|repository name not known|NAME_UNKNOWN|404/i.test(String(e))) return []
    throw e
  }
}

export const stageTagsOf = async (repository: string): Promise<string[]> => (await tagsOf(repository)).filter(t => t.startsWith('dimgstage-'))

export function signatureOf(tag: string): string {
  return tag.slice('dimgstage-'.length)
}

/** tag → manifest digest, through skopeo (an independent reader). */
export async function tagDigests(repository: string, tags: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  await Promise.all(
    tags.map(async t => {
      const r = await runSkopeo(['inspect', '--raw', '--tls-verify=false', `docker://${repository}:${t}`])
      out[t] = (await import('node:crypto')).createHash('sha256').update(r.stdout).digest('hex')
    }),
  )
  return out
}

/** Runs distribution's offline garbage collector on the test registry's storage: blobs no manifest references go. */
export async function garbageCollect(reg: TestRegistry): Promise<void> {
  const config = join(dirname(reg.storageDir), 'config.yml')
  await run('/usr/bin/docker-registry', ['garbage-collect', config], {maxBuffer: 64 * 1024 * 1024})
}

/** dimg name → planned stage signatures (in stage order) at the project's current state. */
export async function plannedSignatures(hosts: Hosts, home: string, repo: string): Promise<Record<string, string[]>> {
  const plan = await hosts.json<{dimgs: Array<{name: string; stages: Array<{signature: string}>}>}>(home, ['dimg', 'stages', 'push', repo, '--dry-run'])
  return Object.fromEntries(plan.dimgs.map(d => [d.name, d.stages.map(s => s.signature)]))
}

/** Names of the project's stage images in a host's local store. */
export async function localStageSignatures(hosts: Hosts, home: string): Promise<string[]> {
  const rows = await hosts.json<Array<{signature: string}>>(home, ['dimg', 'stages', 'list', 'local'])
  return rows.map(r => r.signature).sort()
}

export function union(...sets: Array<Iterable<string>>): Set<string> {
  const out = new Set<string>()
  for (const s of sets) for (const x of s) out.add(x)
  return out
}

export function minus(a: Iterable<string>, b: Iterable<string>): string[] {
  const drop = new Set(b)
  return [...a].filter(x => !drop.has(x)).sort()
}

/** The one line a failing command printed to stderr (and a check that it is just one). */
export function oneLine(r: CliResult): string {
  const lines = r.stderr.trim().split('\n')
  if (lines.length !== 1) throw new Error(`expected one line on stderr, got ${lines.length}:\n${r.stderr}`)
  return lines[0]
}

/** Entries of a directory, [] when it does not exist. */
export async function entriesOf(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [] as string[])
}
