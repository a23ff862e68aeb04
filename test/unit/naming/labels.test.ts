import {LABEL, stageLabelMismatch} from '../../../src/naming/labels.js'

const SIG = 'a'.repeat(64)
const want = {signature: SIG, cacheVersion: '3', project: 'app'}
const labels = (over: Record<string, string | undefined> = {}): Record<string, string> => {
  const out: Record<string, string | undefined> = {[LABEL.signature]: SIG, [LABEL.cacheVersion]: '3', [LABEL.project]: 'app', ...over}
  return Object.fromEntries(Object.entries(out).filter((e): e is [string, string] => e[1] !== undefined))
}

describe('stageLabelMismatch', () => {
  it('accepts labels that agree with the tag, with or without a project label', () => {
    expect(stageLabelMismatch(labels(), want)).toBeUndefined()
    expect(stageLabelMismatch(labels({[LABEL.project]: undefined}), want)).toBeUndefined()
  })

  it('names every disagreement: signature, cache version, project; and missing labels', () => {
    expect(stageLabelMismatch(labels({[LABEL.signature]: 'b'.repeat(64), [LABEL.cacheVersion]: '2', [LABEL.project]: 'other'}), want)).toBe(
      `its signature label is ${'b'.repeat(12)}, its cache version is "2", not "3", it belongs to project "other"`,
    )
    expect(stageLabelMismatch(undefined, want)).toBe('it has no stage signature label, its cache version is missing, not "3"')
  })
})
