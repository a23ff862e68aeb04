import {murmur3Hex, slug} from '../../../src/naming/slug.js'

describe('murmur3Hex', () => {
  // reference values of MurmurHash3_x86_32 with seed 0
  it.each([
    ['', '0'],
    ['hello', '248bfa47'],
    ['The quick brown fox jumps over the lazy dog', '2e4ff723'],
  ])('%j → %s', (input, expected) => {
    expect(murmur3Hex(input)).toBe(expected)
  })
})

describe('slug', () => {
  it('keeps values that are already valid tags', () => {
    expect(slug('v1.2.3')).toBe('v1.2.3')
    expect(slug('main')).toBe('main')
    expect(slug('feature-x_1')).toBe('feature-x_1')
  })

  it('slugs invalid values and appends a hash of the original', () => {
    expect(slug('feature/New Thing')).toBe(`feature-new-thing-${murmur3Hex('feature/New Thing')}`)
    expect(slug('Main')).toBe(`main-${murmur3Hex('Main')}`)
  })

  it('gives different slugs to inputs that slugify the same', () => {
    expect(slug('a/b')).not.toBe(slug('a_b/'))
    expect(slug('A')).not.toBe(slug('a'))
  })

  it('fits 128 characters', () => {
    const s = slug(`x/${'y'.repeat(300)}`)
    expect(s.length).toBeLessThanOrEqual(128)
    expect(s).toMatch(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/)
  })

  it('makes a hash-only slug when nothing valid is left', () => {
    expect(slug('///')).toBe(murmur3Hex('///'))
  })
})
