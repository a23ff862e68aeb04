import {canonicalJson} from '../../../src/stage/canonical.js'
import {CACHE_VERSION, SIGNATURE_RE, stageSignature} from '../../../src/stage/signature.js'

describe('canonicalJson', () => {
  it('sorts keys at every level, drops undefined members and has no whitespace', () => {
    expect(canonicalJson({b: 1, a: {d: [1, 'x', null], c: true}, e: undefined})).toBe('{"a":{"c":true,"d":[1,"x",null]},"b":1}')
    expect(canonicalJson({B: 1, a: 2, é: 3, _: 4})).toBe('{"B":1,"_":4,"a":2,"é":3}')
  })

  it('encodes strings and numbers the same way everywhere', () => {
    expect(canonicalJson(['ü\n"\\\u0001', 1e21, 0.1, -0])).toBe('["ü\\n\\"\\\\\\u0001",1e+21,0.1,0]')
  })

  it('refuses values that are not JSON', () => {
    expect(() => canonicalJson(NaN)).toThrow(TypeError)
    expect(() => canonicalJson(new Date(0))).toThrow(TypeError)
    expect(() => canonicalJson(() => 1)).toThrow(TypeError)
  })
})

describe('stageSignature', () => {
  const input = {stage: 'from' as const, parent: null, content: {image: 'alpine:3.19'}, dev: false}

  it('is pinned: the same bytes on every machine and Node version', () => {
    expect(CACHE_VERSION).toBe('1')
    // = sha256 of {"cacheVersion":"1","content":{"image":"alpine:3.19"},"parent":null,"stage":"from"} (checked with sha256sum)
    expect(stageSignature(input)).toBe('fa21fbcaf6a32b349d3de884592e362f9a27e529842274c616852dba60c7714f')
  })

  it('moves with each of its inputs and never equals across dev and normal mode', () => {
    const base = stageSignature(input)
    expect(base).toMatch(SIGNATURE_RE)
    const variants = [
      stageSignature({...input, dev: true}),
      stageSignature({...input, stage: 'docker'}),
      stageSignature({...input, parent: base}),
      stageSignature({...input, content: {image: 'alpine:3.20'}}),
      stageSignature({...input, cacheVersion: '2'}),
    ]
    expect(new Set([base, ...variants]).size).toBe(6)
    expect(stageSignature({...input, content: {image: 'alpine:3.19', x: undefined}})).toBe(base)
  })
})
