import {SlipwayError} from '../errors.js'

const UNIT_MS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}

/** `2h`, `30m`, `1h30m`, `45s`, `7d` or `0` in milliseconds; a usage error naming the flag otherwise. */
export function parseDuration(value: string, flag: string): number {
  const text = value.trim()
  if (text === '0') return 0
  let rest = text
  let total = 0
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)/.exec(rest)
    if (!m) throw new SlipwayError('usage', `${flag} "${value}" is not a duration`, {hint: 'write e.g. 2h, 30m, 1h30m, 7d or 0'})
    total += Number(m[1]) * UNIT_MS[m[2]]
    rest = rest.slice(m[0].length)
  }
  if (text === '') throw new SlipwayError('usage', `${flag} is empty`, {hint: 'write e.g. 2h, 30m, 1h30m, 7d or 0'})
  return total
}
