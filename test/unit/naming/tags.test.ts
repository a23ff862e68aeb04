import {isSlipwayError} from '../../../src/errors.js'
import {murmur3Hex} from '../../../src/naming/slug.js'
import {resolveTags} from '../../../src/naming/tags.js'

const noGit = {}
const noEnv = {}

function usageError(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    if (isSlipwayError(e) && e.kind === 'usage') return e.message
    throw e
  }
  throw new Error('expected a usage error')
}

describe('resolveTags', () => {
  it('defaults to latest', () => {
    expect(resolveTags({}, noGit, noEnv)).toEqual(['latest'])
  })

  it('slugs --tag and --tag-slug, keeps --tag-plain', () => {
    expect(resolveTags({tag: ['Release/1'], tagSlug: ['ok'], tagPlain: ['V1.0']}, noGit, noEnv)).toEqual([
      `release-1-${murmur3Hex('Release/1')}`,
      'ok',
      'V1.0',
    ])
  })

  it('rejects an invalid --tag-plain', () => {
    expect(usageError(() => resolveTags({tagPlain: ['no/slash']}, noGit, noEnv))).toContain('--tag-plain "no/slash"')
    expect(usageError(() => resolveTags({tagPlain: ['-x']}, noGit, noEnv))).toContain('not a valid docker tag')
  })

  it('uses the branch and the commit', () => {
    const git = {branch: 'feature/x', commit: 'a'.repeat(40)}
    expect(resolveTags({tagBranch: true, tagCommit: true}, git, noEnv)).toEqual([`feature-x-${murmur3Hex('feature/x')}`, 'a'.repeat(40)])
    expect(usageError(() => resolveTags({tagBranch: true}, noGit, noEnv))).toContain('--tag-branch')
  })

  it('reads GitLab CI before GitHub Actions', () => {
    const env = {GITLAB_CI: 'true', CI_COMMIT_REF_NAME: 'main', CI_PIPELINE_ID: '42', GITHUB_REF_NAME: 'other', GITHUB_RUN_ID: '7'}
    expect(resolveTags({tagCi: true, tagBuildId: true}, noGit, env)).toEqual(['42', 'main'])
    expect(resolveTags({tagCi: true}, noGit, {...env, CI_COMMIT_TAG: 'v2.0'})).toEqual(['v2.0'])
    expect(resolveTags({tagCi: true, tagBuildId: true}, noGit, {GITHUB_ACTIONS: 'true', GITHUB_REF_NAME: 'dev', GITHUB_RUN_ID: '7'})).toEqual(['7', 'dev'])
  })

  it('says clearly when not in CI', () => {
    expect(usageError(() => resolveTags({tagCi: true}, noGit, noEnv))).toContain('not running in a known CI system')
    expect(usageError(() => resolveTags({tagBuildId: true}, noGit, noEnv))).toContain('no CI build id')
  })

  it('drops duplicates', () => {
    expect(resolveTags({tag: ['x', 'x'], tagPlain: ['x']}, noGit, noEnv)).toEqual(['x'])
  })
})
