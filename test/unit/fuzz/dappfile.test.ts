import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {parseDappfile} from '../../../src/config/load.js'
import {SlipwayError} from '../../../src/errors.js'
import {REPO_ROOT} from '../../helpers/cli.js'
import {mutateBytes, pick, seededRandom} from './support.js'

/**
 * Mutation fuzzing of the dappfile loader: from the example dappfile and the broken-config corpus,
 * 400 seeded mutations (YAML syntax tokens, anchors and aliases, odd scalars, byte damage). Every input
 * must either load or be refused with a SlipwayError (a file:line message), never anything else.
 */
const SEED = Number(process.env.SLIPWAY_FUZZ_SEED ?? 9_000_001)
const RUNS = Number(process.env.SLIPWAY_FUZZ_RUNS ?? 400)

const corpus = [
  readFileSync(join(REPO_ROOT, 'fixtures/example/dappfile.yaml')),
  ...readdirSync(join(REPO_ROOT, 'test/unit/config/broken')).filter(f => /\.ya?ml$/.test(f)).map(f => readFileSync(join(REPO_ROOT, 'test/unit/config/broken', f))),
]
const dictionary = [
  '\n---\n', ': ', '- ', '[', ']', '{', '}', '&a ', '*a', '<<: *a\n', '!!binary ', '!!python/object ', '? ', '|\n  ', '>-\n  ',
  'from: ', 'dimg: ', 'artifact: ', 'image: ', 'git:\n  - add: /\n    to: /app\n', 'shell:\n  install: ', 'import:\n  - artifact: ',
  'docker:\n  ENV: ', 'mount:\n  - from: ', 'stageDependencies: ', '~', 'null', '.nan', '0x1F', '1e999', '"\\u0000"', "'", '"',
  '\t', '\r\n', '\u2028', '\uFEFF', '#', '%YAML 1.1\n', '../../etc/passwd', '/..', '**/[', 'a'.repeat(300),
].map(s => Buffer.from(s))

it(`loads or refuses ${RUNS} mutated dappfiles with a SlipwayError only (seed ${SEED})`, () => {
  const random = seededRandom(SEED)
  let loaded = 0
  let refused = 0
  for (let i = 0; i < RUNS; i++) {
    const text = mutateBytes(pick(random, corpus), random, dictionary).toString('utf8')
    try {
      parseDappfile(text, 'dappfile.yaml')
      loaded++
    } catch (e) {
      if (!(e instanceof SlipwayError)) throw new Error(`run ${i} (seed ${SEED}): ${String(e)}\n--- input ---\n${text}`)
      expect(e.message).not.toMatch(/\n/)
      refused++
    }
  }
  // the mutations exercise both paths (how often each depends on SLIPWAY_FUZZ_SEED)
  expect(loaded).toBeGreaterThan(0)
  expect(refused).toBeGreaterThan(RUNS / 4)
})

it('a billion-laughs alias bomb is refused by the alias bound, not expanded', () => {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]']
  for (let i = 1; i < 12; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`)
  // refused by the alias bound (doc.toJS maxAliasCount) while counting, before anything is expanded
  let error: unknown
  try {
    parseDappfile(`from: base:1\n${lines.join('\n')}\n`, 'dappfile.yaml')
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(SlipwayError)
  expect((error as SlipwayError).message).toBe('dappfile.yaml:1:1: YAML error: Excessive alias count indicates a resource exhaustion attack')
})
