import {SlipwayError} from '../../../src/errors.js'
import {parseDigest} from '../../../src/oci/digest.js'
import type {Descriptor} from '../../../src/oci/types.js'
import {emptyIndex, parseIndex, REF_NAME_ANNOTATION, refDescriptor, refEntries, withoutRefs, withRefs} from '../../../src/store/layout.js'

const desc = (n: number): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: parseDigest(`sha256:${n.toString(16).padStart(64, '0')}`),
  size: n,
})

describe('index ref operations', () => {
  it('adds names at the end and replaces an existing name in place', () => {
    let index = withRefs(emptyIndex(), [refDescriptor('a', desc(1)), refDescriptor('b', desc(2))])
    index = withRefs(index, [refDescriptor('a', desc(3), {'x.y': 'z'})])
    expect(refEntries(index).map(e => [e.name, e.descriptor.size])).toEqual([['a', 3], ['b', 2]])
    expect(index.manifests[0].annotations).toEqual({'x.y': 'z', [REF_NAME_ANNOTATION]: 'a'})
  })

  it('collapses duplicate entries of one name (as other tools may leave) into one', () => {
    const dup = {...emptyIndex(), manifests: [refDescriptor('a', desc(1)), refDescriptor('b', desc(2)), refDescriptor('a', desc(4))]}
    const index = withRefs(dup, [refDescriptor('a', desc(5))])
    expect(refEntries(index).map(e => [e.name, e.descriptor.size])).toEqual([['a', 5], ['b', 2]])
  })

  it('never lets caller annotations override the ref name', () => {
    const d = refDescriptor('real', {...desc(1), annotations: {[REF_NAME_ANNOTATION]: 'old'}}, {[REF_NAME_ANNOTATION]: 'fake'})
    expect(d.annotations?.[REF_NAME_ANNOTATION]).toBe('real')
  })

  it('removes by predicate, keeps unnamed entries', () => {
    const index = {...emptyIndex(), manifests: [desc(9), refDescriptor('dimgstage-p:1', desc(1)), refDescriptor('final', desc(2))]}
    const out = withoutRefs(index, e => e.name.startsWith('dimgstage-'))
    expect(out.removed.map(e => e.name)).toEqual(['dimgstage-p:1'])
    expect(out.index.manifests).toEqual([desc(9), refDescriptor('final', desc(2))])
  })

  it('rejects empty names', () => {
    expect(() => refDescriptor('', desc(1))).toThrow(SlipwayError)
    expect(() => refDescriptor('a b', desc(1))).toThrow(/invalid image name/)
  })
})

describe('parseIndex', () => {
  it('accepts an OCI index', () => {
    expect(parseIndex(JSON.stringify(withRefs(emptyIndex(), [refDescriptor('a', desc(1))])), 'x').manifests).toHaveLength(1)
  })

  it.each([
    ['not json', '{'],
    ['not an index', '{"schemaVersion":2}'],
    ['bad descriptor', '{"schemaVersion":2,"manifests":[{"mediaType":"m","digest":"sha256:nope","size":1}]}'],
  ])('rejects %s with an integrity error', (_what, text) => {
    try {
      parseIndex(text, '/s/index.json')
      throw new Error('accepted')
    } catch (e) {
      expect(e).toBeInstanceOf(SlipwayError)
      expect((e as SlipwayError).kind).toBe('integrity')
      expect((e as SlipwayError).message).toContain('/s/index.json')
    }
  })
})
