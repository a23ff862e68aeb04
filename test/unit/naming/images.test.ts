import {finalImageRepository, localStageName, parseLocalStageName, signatureOfStageTag, stageTag} from '../../../src/naming/images.js'

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
    expect(parseLocalStageName(`dimgstage-my-app:${sig}`)).toEqual({project: 'my-app', signature: sig, dev: false})
    expect(parseLocalStageName(`dimgstage-my-app-dev:${sig}`)).toEqual({project: 'my-app', signature: sig, dev: true})
    expect(parseLocalStageName('localhost:5000/x:latest')).toBeUndefined()
  })

  it('derives final image repositories', () => {
    const repo = {registry: 'localhost:5000', path: 'team/app'}
    expect(finalImageRepository(repo, 'backend')).toEqual({registry: 'localhost:5000', path: 'team/app/backend'})
    expect(finalImageRepository(repo, null)).toEqual(repo)
  })
})
