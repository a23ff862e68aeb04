import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runSkopeo} from '../../helpers/base-image.js'
import {runSlipway, type CliResult} from '../../helpers/cli.js'
import {type TestRegistry} from '../../helpers/registry.js'
import {listTar, type ListedEntry} from '../../helpers/tar.js'

/** What `slipway dimg build --json` prints: the workflow's own type, so the shape is defined once. */
export type {BuildReport} from '../../../src/workflows/build.js'
import type {BuildReport} from '../../../src/workflows/build.js'

export function storeDir(home: string): string {
  return join(home, 'store')
}

export function buildEnv(reg: TestRegistry, home: string): Record<string, string> {
  return {SLIPWAY_HOME: home, ...reg.env()}
}

/** `slipway dimg build --json --dir DIR ...args`; the raw result, for failures. */
export function runBuild(dir: string, env: Record<string, string>, args: string[] = []): Promise<CliResult> {
  return runSlipway(['dimg', 'build', '--json', '--quiet', '--dir', dir, ...args], {env})
}

/** A build that must succeed: its parsed report. */
export async function build(dir: string, env: Record<string, string>, args: string[] = []): Promise<BuildReport> {
  const r = await runBuild(dir, env, args)
  if (r.code !== 0) throw new Error(`dimg build exited with ${r.code}:\n${r.stderr}`)
  return JSON.parse(r.stdout) as BuildReport
}

export function dimgReport(report: BuildReport, listedAs: string): BuildReport['dimgs'][number] {
  const d = report.dimgs.find(x => x.listedAs === listedAs)
  if (!d) throw new Error(`no dimg ${listedAs} in the report: ${report.dimgs.map(x => x.listedAs).join(', ')}`)
  return d
}

/** Names of the stages of a dimg that this build built (not cached), in order. */
export function builtStages(report: BuildReport, listedAs: string): string[] {
  return dimgReport(report, listedAs).stages.filter(s => s.status === 'built').map(s => s.name)
}

export function stageSignature(report: BuildReport, listedAs: string, stage: string): string {
  const s = dimgReport(report, listedAs).stages.find(x => x.name === stage)
  if (!s) throw new Error(`${listedAs} has no ${stage} stage`)
  return s.signature
}

/** The local name of the image a dimg is (its last stage). */
export function finalStageName(report: BuildReport, listedAs: string): string {
  return `dimgstage-${report.project}${report.dev ? '-dev' : ''}:${dimgReport(report, listedAs).signature}`
}

interface IndexJson {
  manifests: {digest: string; annotations?: Record<string, string>}[]
}

/** The ref names in the store's index.json. */
export async function storeRefs(home: string): Promise<string[]> {
  const index = JSON.parse(await readFile(join(storeDir(home), 'index.json'), 'utf8')) as IndexJson
  return index.manifests.map(m => m.annotations?.['org.opencontainers.image.ref.name']).filter((n): n is string => n !== undefined).sort()
}

export async function readBlob(home: string, digest: string): Promise<Buffer> {
  return readFile(join(storeDir(home), 'blobs', 'sha256', digest.replace(/^sha256:/, '')))
}

export interface Manifest {
  config: {digest: string}
  layers: {digest: string; mediaType: string; size: number}[]
}

/** The manifest of a named image in the store, read from index.json and the blobs directly. */
export async function manifestOf(home: string, name: string): Promise<Manifest> {
  const index = JSON.parse(await readFile(join(storeDir(home), 'index.json'), 'utf8')) as IndexJson
  const entry = index.manifests.find(m => m.annotations?.['org.opencontainers.image.ref.name'] === name)
  if (!entry) throw new Error(`${name} is not in the store`)
  return JSON.parse((await readBlob(home, entry.digest)).toString('utf8')) as Manifest
}

/** skopeo's view of a named image in the store (throws when skopeo cannot read it). */
export async function skopeoInspect(home: string, name: string): Promise<{Digest: string; Labels: Record<string, string> | null; Layers: string[]}> {
  const {stdout} = await runSkopeo(['inspect', `oci:${storeDir(home)}:${name}`])
  return JSON.parse(stdout)
}

/** The entries of a (gzip or plain) layer blob in the store, in order. */
export async function layerEntries(home: string, digest: string): Promise<ListedEntry[]> {
  return listTar(await readBlob(home, digest))
}
