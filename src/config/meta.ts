import * as z from 'zod'

import {SlipwayError} from '../errors.js'
import type {DappConfig} from './types.js'

/**
 * werf's meta document (`configVersion: 1`, `project: NAME`, and the sections Slipway has no use for:
 * `deploy`, `cleanup`, `build`, `gitWorktree`, accepted and ignored). dapp had none; a dappfile may carry
 * one too, and then its `project` names the project as in werf.
 */

/** A document is the meta document when it says `configVersion` (werf) or `project` without naming a dimg. */
export function isMetaDocument(raw: Record<string, unknown>): boolean {
  if ('configVersion' in raw) return true
  return 'project' in raw && !['dimg', 'image', 'artifact', 'from'].some((k) => k in raw)
}

/** werf's rule for project names (pkg/slug): lower-case letters, digits and inner dashes, at most 50. */
const PROJECT_NAME = /^(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/
const PROJECT_NAME_MAX = 50

const ignoredSection = z.union([z.record(z.string(), z.unknown()), z.null()], {error: 'expected a map'}).optional()

export const metaSchema = z.strictObject(
  {
    // werf requires it (checked by the loader for werf.yaml); a dappfile's meta document may leave it out.
    configVersion: z.literal(1, {error: '"configVersion: 1" is the only version there is'}).optional(),
    project: z
      .string({error: 'expected the project name'})
      .refine((p) => p.length <= PROJECT_NAME_MAX && PROJECT_NAME.test(p), {
        error: `a project name is lower-case letters, digits and inner "-", at most ${PROJECT_NAME_MAX} characters (as werf requires)`,
      }),
    deploy: ignoredSection,
    cleanup: ignoredSection,
    build: ignoredSection,
    gitWorktree: ignoredSection,
  },
  {error: (iss) => (iss.code === 'unrecognized_keys' ? 'unknown key — the meta document has configVersion, project, build, deploy, cleanup, gitWorktree' : undefined)},
)

/**
 * werf refuses a werf.yaml without the meta document; so does Slipway, with werf's sample (and the name
 * werf would have suggested) in the hint.
 */
export function requireMetaDocument(config: DappConfig, fileLabel: string, suggestedName: string): void {
  if (config.flavour !== 'werf' || config.project !== undefined) return
  throw new SlipwayError('config', `${fileLabel}:1:1: the meta document is missing: a werf.yaml starts with "configVersion: 1" and "project: NAME"`, {
    hint: `add at the top:  configVersion: 1 ⏎ project: ${suggestedName} ⏎ ---  (the project name names the stages cache; changing it later rebuilds everything)`,
  })
}
