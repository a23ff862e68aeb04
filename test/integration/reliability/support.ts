import {runSkopeo} from '../../helpers/base-image.js'
import {runSlipway, type CliResult} from '../../helpers/cli.js'

/** `slipway store verify --json` on a home: the report, with `ok` false when the command failed. */
export async function verifyHome(home: string): Promise<{ok: boolean; checked: number; corrupt: unknown[]; missing: unknown[]; raw: CliResult}> {
  const r = await runSlipway(['store', 'verify', '--json'], {env: {SLIPWAY_HOME: home}})
  let report: {ok?: boolean; checked?: number; corrupt?: unknown[]; missing?: unknown[]} = {}
  try {
    report = JSON.parse(r.stdout)
  } catch {
    // a store that cannot even be read: not ok
  }
  return {ok: r.code === 0 && report.ok === true, checked: report.checked ?? 0, corrupt: report.corrupt ?? [], missing: report.missing ?? [], raw: r}
}

/** Names of the images in a home's store (`image list --json`). */
export async function storeNames(home: string): Promise<string[]> {
  const r = await runSlipway(['image', 'list', '--json'], {env: {SLIPWAY_HOME: home}})
  if (r.code !== 0) throw new Error(`image list exited ${r.code}: ${r.stderr}`)
  const doc = JSON.parse(r.stdout) as unknown
  const list = Array.isArray(doc) ? doc : ((doc as {images?: unknown[]}).images ?? [])
  return (list as {name: string}[]).map(i => i.name).sort()
}

/**
 * The one-line-error contract: a non-zero exit, a short stderr with no stack trace. Returns the last
 * non-empty stderr line (the error line).
 */
export function expectClearError(r: CliResult, exitCode?: number): string {
  if (r.code === 0) throw new Error(`expected a failure, got exit 0; stdout: ${r.stdout.slice(0, 500)}`)
  if (exitCode !== undefined && r.code !== exitCode) throw new Error(`expected exit ${exitCode}, got ${r.code}: ${r.stderr}`)
  if (/\n\s+at .+\(.*:\d+:\d+\)/.test(r.stderr)) throw new Error(`stack trace on stderr:\n${r.stderr}`)
  if (r.code === 1) throw new Error(`internal error (exit 1): ${r.stderr}`)
  const lines = r.stderr.split('\n').filter(l => l.trim() !== '')
  return lines.at(-1) ?? ''
}

/** Tags of a repository on an anonymous plain-HTTP registry, [] when the repository does not exist. */
export async function registryTags(repository: string): Promise<string[]> {
  try {
    const r = await runSkopeo(['list-tags', '--tls-verify=false', `docker://${repository}`])
    return ((JSON.parse(r.stdout) as {Tags: string[] | null}).Tags ?? []).sort()
  } catch (e) {
    if (/name unknown|not found|NAME_UNKNOWN/i.test(String(e))) return []
    throw e
  }
}

/** Every tag resolves to a manifest whose config and layers are all there (skopeo copies it to a throwaway dir). */
export async function checkRegistryTag(ref: string, scratch: string): Promise<void> {
  await runSkopeo(['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `dir:${scratch}`])
}
