import {Flags} from '@oclif/core'

import {availableParallelism} from 'node:os'

/** Flags shared by several commands, defined once. */
export const projectFlags = {
  dir: Flags.string({description: 'Project directory (holds dappfile.yaml).', default: '.', helpGroup: 'PROJECT', env: 'SLIPWAY_DIR'}),
  dev: Flags.boolean({description: 'Dev mode: count uncommitted changes; stages go to a separate cache.', helpGroup: 'PROJECT', env: 'SLIPWAY_DEV', allowNo: true}),
}

export const registryFlags = {
  'registry-username': Flags.string({description: 'Registry user name (else CI_REGISTRY_USER, or what `registry login`, podman or docker saved).', helpGroup: 'REGISTRY', env: 'SLIPWAY_REGISTRY_USERNAME'}),
  'registry-password': Flags.string({description: 'Registry password or token (prefer the SLIPWAY_REGISTRY_PASSWORD variable).', helpGroup: 'REGISTRY', env: 'SLIPWAY_REGISTRY_PASSWORD'}),
  'insecure-registry': Flags.string({
    description: 'Allow plain HTTP and unverified TLS with this registry (repeatable; also SLIPWAY_INSECURE_REGISTRY, comma-separated). HOST matches every port of HOST, HOST:PORT that port only.',
    helpGroup: 'REGISTRY',
    helpValue: 'HOST[:PORT]',
    multiple: true,
  }),
  jobs: Flags.integer({description: 'Parallel transfers.', default: 8, min: 1, max: 64, helpGroup: 'REGISTRY'}),
}

/** `--report-file` for the commands a CI job keeps a record of (werf's --save-build-report); --json is WorkflowCommand's. */
export const reportFlags = {
  'report-file': Flags.string({
    description: 'Also write the result, as --json prints it, to FILE (replaced atomically, only when the command succeeds).',
    helpValue: 'FILE',
  }),
}

/** For tables: whole cells however wide the terminal (a pipe always gets them). */
export const wideFlag = {
  wide: Flags.boolean({description: 'Show long columns (USED BY) whole instead of fitting the table to the terminal.'}),
}

export const dryRunFlag = {
  'dry-run': Flags.boolean({description: 'Show what would be done; change nothing.'}),
}

/**
 * The tag options, each with its SLIPWAY_TAG_* variable (werf's WERF_*). The repeatable ones also take
 * several tags in one value, separated by commas or newlines (a docker tag can hold neither), from a flag
 * or its variable alike. The boolean ones take 1/true/yes or 0/false/no, and --no-… turns one off.
 */
export const tagFlags = {
  tag: Flags.string({description: 'Tag (slugged to a valid docker tag); comma- or newline-separated for several.', multiple: true, helpGroup: 'TAGS', env: 'SLIPWAY_TAG'}),
  'tag-plain': Flags.string({description: 'Tag used as is (must be a valid docker tag); comma- or newline-separated for several.', multiple: true, helpGroup: 'TAGS', env: 'SLIPWAY_TAG_PLAIN'}),
  'tag-slug': Flags.string({description: 'Tag slugged to a valid docker tag; comma- or newline-separated for several.', multiple: true, helpGroup: 'TAGS', env: 'SLIPWAY_TAG_SLUG'}),
  'tag-branch': Flags.boolean({description: 'Tag with the git branch name (slugged).', helpGroup: 'TAGS', env: 'SLIPWAY_TAG_BRANCH', allowNo: true}),
  'tag-commit': Flags.boolean({description: 'Tag with the git commit id.', helpGroup: 'TAGS', env: 'SLIPWAY_TAG_COMMIT', allowNo: true}),
  'tag-build-id': Flags.boolean({description: 'Tag with the CI build id (CI_PIPELINE_ID, GITHUB_RUN_ID, CI_BUILD_ID).', helpGroup: 'TAGS', env: 'SLIPWAY_TAG_BUILD_ID', allowNo: true}),
  'tag-ci': Flags.boolean({description: 'Tag from the CI environment (git tag or branch; GitLab CI first, then GitHub Actions).', helpGroup: 'TAGS', env: 'SLIPWAY_TAG_CI', allowNo: true}),
}

/**
 * Dimgs built at once (werf builds images in parallel by default): one per CPU core keeps the cores busy
 * with shell stages and compression while a dimg's own stages stay sequential.
 */
export const parallelFlag = {
  parallel: Flags.integer({
    description: 'Dimgs built at the same time; a dimg built on another (fromDimg, imports) waits for it.',
    min: 1,
    env: 'SLIPWAY_PARALLEL',
    helpGroup: 'BUILD',
    default: async () => availableParallelism(),
    defaultHelp: async () => 'the number of CPU cores',
  }),
}

export const buildFlags = {
  isolation: Flags.string({
    description: 'How shell stages are isolated: Linux namespaces (bubblewrap), or chroot only for containers that forbid namespaces.',
    options: ['namespaces', 'chroot'],
    default: 'namespaces',
    helpGroup: 'BUILD',
  }),
  compression: Flags.string({description: 'Layer compression.', options: ['gzip', 'none'], default: 'gzip', helpGroup: 'BUILD'}),
  'introspect-error': Flags.boolean({description: 'On a failed stage, open a shell in its root (on a terminal).', helpGroup: 'BUILD'}),
}
