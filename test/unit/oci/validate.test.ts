import {manifestProblem} from '../../../src/oci/validate.js'

const d = (digest = `sha256:${'a'.repeat(64)}`) => ({mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: 3})

describe('manifestProblem', () => {
  it('accepts image manifests and indexes', () => {
    expect(manifestProblem({schemaVersion: 2, config: d(), layers: [d(), d()]})).toBeUndefined()
    expect(manifestProblem({schemaVersion: 2, manifests: [d()]})).toBeUndefined()
  })

  it.each([
    [null, 'it is not a JSON object'],
    [[], 'it is not a JSON object'],
    [{schemaVersion: 1}, 'schemaVersion is 1, not 2'],
    [{schemaVersion: 2, layers: []}, 'config is not an object'],
    [{schemaVersion: 2, config: d('sha256:nothex'), layers: []}, 'config has no valid digest'],
    [{schemaVersion: 2, config: {...d(), size: -1}, layers: []}, 'config has no valid size'],
    [{schemaVersion: 2, config: d(), layers: 'many'}, 'layers is not a list'],
    [{schemaVersion: 2, config: d(), layers: [{...d(), mediaType: ''}]}, 'layers[0] has no media type'],
    [{schemaVersion: 2, manifests: [{digest: 5}]}, 'manifests[0] has no valid digest'],
  ])('%j → %s', (doc, problem) => {
    expect(manifestProblem(doc)).toBe(problem)
  })
})
