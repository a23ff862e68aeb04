import {finalImageRepository, localStageName, localStageSignature, signatureOfStageTag, stageTag} from '../../../src/naming/images.js'

const sig = 'ab'.repeat(32)

describe('image naming', () => {
  it('names registry stage tags', () => {
    expect(stageTag(sig)).toBe(`dimgstage-${sig}`)
    expect(signatureOfStageTag(`dimgstage-${sig}`)).toBe(sig)
    expect(signatureOfStageTag('latest')).toBeUndefined()
    expect(signatureOfStageTag(`dimgstage-${sig}x`)).toBeUndefined()
  })

  it('names local stages, dev apart', () => {
    expect(localStageName('my-app', sig)).toBe(`dimgstage-my-app:${sig}`)
    expect(localStageName('my-app', sig, true)).toBe(`dimgstage-my-app-dev:${sig}`)
    expect(localStageSignature(`dimgstage-my-app:${sig}`, 'my-app')).toBe(sig)
    expect(localStageSignature(`dimgstage-my-app-dev:${sig}`, 'my-app', true)).toBe(sig)
    expect(localStageSignature(`dimgstage-my-app-dev:${sig}`, 'my-app')).toBeUndefined()
    // a project whose name ends in -dev is not the dev cache of another
    expect(localStageSignature(`dimgstage-my-app-dev:${sig}`, 'my-app-dev')).toBe(sig)
    expect(localStageSignature(`dimgstage-my-app:${sig}`, 'my-app', true)).toBeUndefined()
    expect(localStageSignature('localhost:5000/x:latest', 'x')).toBeUndefined()
    expect(localStageSignature('dimgstage-my-app:short', 'my-app')).toBeUndefined()
  })

  it('derives final image repositories', () => {
    const repo = {registry: 'localhost:5000', path: 'team/app'}
    expect(finalImageRepository(repo, 'backend')).toEqual({registry: 'localhost:5000', path: 'team/app/backend'})
    expect(finalImageRepository(repo, null)).toEqual(repo)
  })
})
