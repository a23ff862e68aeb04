import {Flags} from '@oclif/core'

import type {CleanupPolicy} from '../cleanup/index.js'
import {parseRepository} from '../oci/ref.js'
import type {CleanupRequest} from '../workflows/cleanup-stages.js'
import {parseDuration} from './duration.js'

export const cleanupFlags = {
  'improper-repo-cache': Flags.boolean({description: 'Delete stages that no final image in REPO uses (through its stage chain or imports).', helpGroup: 'POLICY'}),
  'improper-git-commit': Flags.boolean({description: 'Delete stages built from git commits that no longer exist (e.g. after a rebase), and the stages built on them.', helpGroup: 'POLICY'}),
  'improper-cache-version': Flags.boolean({description: 'Delete stages made by another cache version of slipway.', helpGroup: 'POLICY'}),
  'keep-younger-than': Flags.string({description: 'Keep stages created less than this long ago (e.g. 2h, 30m, 0), so builds running elsewhere keep their parents.', default: '2h'}),
  force: Flags.boolean({description: 'Also delete stages a final image still uses, and allow --improper-repo-cache against a REPO with no final images.'}),
}

export function policiesFromFlags(flags: {'improper-repo-cache'?: boolean; 'improper-git-commit'?: boolean; 'improper-cache-version'?: boolean}): CleanupPolicy[] {
  const out: CleanupPolicy[] = []
  if (flags['improper-repo-cache']) out.push('improper-repo-cache')
  if (flags['improper-git-commit']) out.push('improper-git-commit')
  if (flags['improper-cache-version']) out.push('improper-cache-version')
  return out
}

export function keepYoungerThanMs(flags: {'keep-younger-than': string}): number {
  return parseDuration(flags['keep-younger-than'], '--keep-younger-than')
}

/** The cleanup request a `stages cleanup local|repo` command's flags describe. */
export function cleanupRequestFromFlags(
  flags: {dir: string; force?: boolean; 'dry-run'?: boolean; 'keep-younger-than': string} & Parameters<typeof policiesFromFlags>[0],
  repo: string | undefined,
): CleanupRequest {
  return {
    dir: flags.dir,
    policies: policiesFromFlags(flags),
    repo: repo ? parseRepository(repo) : undefined,
    keepYoungerThanMs: keepYoungerThanMs(flags),
    force: flags.force,
    dryRun: flags['dry-run'],
  }
}
