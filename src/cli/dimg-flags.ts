import type {TagOptions} from '../naming/index.js'

/** The tag options from parsed oclif flags. */
export function tagOptionsFromFlags(flags: {
  tag?: string[]
  'tag-plain'?: string[]
  'tag-slug'?: string[]
  'tag-branch'?: boolean
  'tag-commit'?: boolean
  'tag-build-id'?: boolean
  'tag-ci'?: boolean
}): TagOptions {
  return {
    tag: flags.tag,
    tagPlain: flags['tag-plain'],
    tagSlug: flags['tag-slug'],
    tagBranch: flags['tag-branch'],
    tagCommit: flags['tag-commit'],
    tagBuildId: flags['tag-build-id'],
    tagCi: flags['tag-ci'],
  }
}
