import type {TagOptions} from '../naming/index.js'

/** The tag options from parsed oclif flags. */
export function tagOptionsFromFlags(flags: {
  tag?: string | string[]
  'tag-plain'?: string | string[]
  'tag-slug'?: string | string[]
  'tag-branch'?: boolean
  'tag-commit'?: boolean
  'tag-build-id'?: boolean
  'tag-ci'?: boolean
}): TagOptions {
  return {
    tag: tagList(flags.tag),
    tagPlain: tagList(flags['tag-plain']),
    tagSlug: tagList(flags['tag-slug']),
    tagBranch: flags['tag-branch'],
    tagCommit: flags['tag-commit'],
    tagBuildId: flags['tag-build-id'],
    tagCi: flags['tag-ci'],
  }
}

/**
 * A repeatable tag flag's values, each split at commas and newlines (how SLIPWAY_TAG* give several). oclif
 * hands a repeatable flag's environment variable over as one string, not a list.
 */
function tagList(values: string | string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined
  const tags = [values].flat().flatMap(v => v.split(/[,\n]/)).map(t => t.trim()).filter(Boolean)
  return tags.length > 0 ? tags : undefined
}
