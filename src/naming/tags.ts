import {SlipwayError} from '../errors.js'
import {isValidTag} from '../oci/ref.js'
import {slug} from './slug.js'

/** The tag options of push, spush and bp, as given on the command line. */
export interface TagOptions {
  tag?: string[]
  tagPlain?: string[]
  tagSlug?: string[]
  tagBranch?: boolean
  tagCommit?: boolean
  tagBuildId?: boolean
  tagCi?: boolean
}

/** What the tag options read from the project's git state; looked up by the caller only when asked for. */
export interface GitFacts {
  branch?: string
  commit?: string
}

function plainTag(value: string): string {
  if (!isValidTag(value)) {
    throw new SlipwayError('usage', `--tag-plain "${value}" is not a valid docker tag`, {
      hint: 'use letters, digits, _ . - (at most 128, not starting with . or -), or --tag to slug it',
    })
  }
  return value
}

/** CI build id: GitLab CI first, then GitHub Actions, then a generic CI_BUILD_ID. */
export function ciBuildId(env: NodeJS.ProcessEnv): string | undefined {
  return env.CI_PIPELINE_ID || env.GITHUB_RUN_ID || env.CI_BUILD_ID || undefined
}

/** The git tag or branch the CI system is building: GitLab CI first, then GitHub Actions, then CI_* names. */
export function ciRefName(env: NodeJS.ProcessEnv): string | undefined {
  if (env.GITLAB_CI || env.CI_COMMIT_REF_NAME || env.CI_COMMIT_TAG) {
    return env.CI_COMMIT_TAG || env.CI_COMMIT_REF_NAME || undefined
  }
  if (env.GITHUB_ACTIONS || env.GITHUB_REF_NAME) return env.GITHUB_REF_NAME || undefined
  return env.CI_BUILD_TAG || env.CI_BUILD_REF_NAME || env.CI_BRANCH || undefined
}

/** Which tag options need git facts; lets callers skip running git when none does. */
export function needsGit(opts: TagOptions): boolean {
  return Boolean(opts.tagBranch || opts.tagCommit)
}

/** What a tag option is made from, or a usage error naming the option and what is missing. */
function needed(value: string | undefined, option: string, missing: string, hint: string): string {
  if (!value) throw new SlipwayError('usage', `${option}: ${missing}`, {hint})
  return value
}

/**
 * The tags to push, in option order, duplicates removed; `latest` when no option is given.
 * Throws a usage error for a tag that cannot be made (no branch outside git, not in CI, ...).
 */
export function resolveTags(opts: TagOptions, git: GitFacts, env: NodeJS.ProcessEnv): string[] {
  const tags: string[] = []
  for (const t of opts.tag ?? []) tags.push(slug(t))
  for (const t of opts.tagSlug ?? []) tags.push(slug(t))
  for (const t of opts.tagPlain ?? []) tags.push(plainTag(t))
  if (opts.tagBranch) {
    tags.push(slug(needed(git.branch, '--tag-branch', 'the project is not on a git branch (detached HEAD or no git repository)', 'check out a branch or use --tag')))
  }
  if (opts.tagCommit) tags.push(needed(git.commit, '--tag-commit', 'the project is not a git repository with commits', 'commit first or use --tag'))
  if (opts.tagBuildId) {
    const hint = 'run in GitLab CI (CI_PIPELINE_ID) or GitHub Actions (GITHUB_RUN_ID), or set CI_BUILD_ID'
    tags.push(slug(needed(ciBuildId(env), '--tag-build-id', 'no CI build id in the environment', hint)))
  }
  if (opts.tagCi) {
    const hint = 'GitLab CI sets CI_COMMIT_REF_NAME, GitHub Actions GITHUB_REF_NAME; elsewhere set CI_BUILD_REF_NAME or use --tag'
    tags.push(slug(needed(ciRefName(env), '--tag-ci', 'not running in a known CI system', hint)))
  }
  if (tags.length === 0) tags.push('latest')
  return [...new Set(tags)]
}
