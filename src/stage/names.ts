/** Stage names as listings and `--json` show them, in build order (the same order as dapp). */
export const STAGE_NAMES = [
  'from',
  'beforeInstall',
  'importsBeforeInstall',
  'gitArchive',
  'install',
  'importsAfterInstall',
  'beforeSetup',
  'importsBeforeSetup',
  'setup',
  'importsAfterSetup',
  'gitLatestPatch',
  'buildArtifact',
  'docker',
] as const

export type StageName = (typeof STAGE_NAMES)[number]
