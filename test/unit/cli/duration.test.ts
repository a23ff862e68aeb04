import {parseDuration} from '../../../src/cli/duration.js'

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['2h', 7_200_000],
    ['30m', 1_800_000],
    ['1h30m', 5_400_000],
    ['45s', 45_000],
    ['7d', 604_800_000],
    ['1.5h', 5_400_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text, '--keep-younger-than')).toBe(ms)
  })

  it.each(['', 'soon', '2 hours', '-1h', '5x'])('rejects %j with the flag named', text => {
    expect(() => parseDuration(text, '--keep-younger-than')).toThrow(/--keep-younger-than/)
  })
})
