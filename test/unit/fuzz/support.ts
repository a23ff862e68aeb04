/** Seeded input mutation for the fuzz tests: the same seed gives the same mutations, so failures replay. */
export type Random = () => number

/** mulberry32 */
export function seededRandom(seed: number): Random {
  let s = seed | 0
  return () => {
    s = (s + 0x6d2b79f5) | 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]
const int = (random: Random, max: number): number => Math.floor(random() * max)

/** One to four byte-level mutations: flip, insert `dictionary` tokens, delete or duplicate ranges, truncate. */
export function mutateBytes(input: Buffer, random: Random, dictionary: readonly Buffer[] = []): Buffer {
  let out = Buffer.from(input)
  const rounds = 1 + int(random, 4)
  for (let i = 0; i < rounds; i++) {
    const at = int(random, out.length + 1)
    switch (int(random, dictionary.length ? 6 : 5)) {
      case 0: // flip bits of one byte
        if (out.length) out[Math.min(at, out.length - 1)] ^= 1 + int(random, 255)
        break
      case 1: // random bytes
        out = Buffer.concat([out.subarray(0, at), Buffer.from(Array.from({length: 1 + int(random, 8)}, () => int(random, 256))), out.subarray(at)])
        break
      case 2: { // delete a range
        const len = 1 + int(random, 64)
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + len)])
        break
      }
      case 3: { // duplicate a range
        const len = 1 + int(random, 128)
        out = Buffer.concat([out.subarray(0, at + len), out.subarray(at, at + len), out.subarray(at + len)])
        break
      }
      case 4: // truncate
        out = out.subarray(0, at)
        break
      default: { // overwrite with a dictionary token
        const token = pick(random, dictionary)
        out = Buffer.concat([out.subarray(0, at), token, out.subarray(at + token.length)])
      }
    }
  }
  return out
}
