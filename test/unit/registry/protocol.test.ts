import {parseChallenge} from '../../../src/registry/auth/challenge.js'
import {repoScope, scopeStrings, CATALOG_SCOPE} from '../../../src/registry/auth/scope.js'
import {nextLink} from '../../../src/registry/pagination.js'
import {backoffMs, parseRetryAfter, RetryBudget} from '../../../src/registry/retry.js'

describe('parseChallenge', () => {
  it('reads a bearer challenge with quoted params', () => {
    const c = parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')
    expect(c).toEqual({scheme: 'bearer', params: {realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push'}})
  })
  it('reads a basic challenge and prefers bearer when both are offered', () => {
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({scheme: 'basic', params: {realm: 'Registry Realm'}})
    expect(parseChallenge(['Basic realm="x"', 'Bearer realm="https://t/",service="s"'])?.scheme).toBe('bearer')
    expect(parseChallenge('Basic realm="x", Bearer realm="https://t/"')?.params.realm).toBe('https://t/')
  })
  it('ignores unknown schemes and missing headers', () => {
    expect(parseChallenge('Negotiate abc')).toBeUndefined()
    expect(parseChallenge(undefined)).toBeUndefined()
  })
})

describe('scopeStrings', () => {
  it('merges actions per resource in a stable order', () => {
    expect(scopeStrings([repoScope('b', 'push'), repoScope('a', 'pull'), repoScope('b', 'pull'), CATALOG_SCOPE]))
      .toEqual(['registry:catalog:*', 'repository:a:pull', 'repository:b:pull,push'])
    expect(scopeStrings([])).toEqual([])
  })
})

describe('nextLink', () => {
  it('finds rel="next" among links', () => {
    expect(nextLink('</v2/a/tags/list?last=t1000&n=1000>; rel="next"')).toBe('/v2/a/tags/list?last=t1000&n=1000')
    expect(nextLink('<https://x/prev>; rel="prev", <https://x/next?a=1,2>; rel=next')).toBe('https://x/next?a=1,2')
  })
  it('gives undefined without a next link', () => {
    expect(nextLink(undefined)).toBeUndefined()
    expect(nextLink('</v2/a?x>; rel="prev"')).toBeUndefined()
  })
})

describe('retry timing', () => {
  it('parses Retry-After seconds and HTTP dates', () => {
    const now = Date.parse('2024-01-01T00:00:00Z')
    expect(parseRetryAfter('3', now)).toBe(3000)
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:10 GMT', now)).toBe(10_000)
    expect(parseRetryAfter('Sun, 31 Dec 2023 00:00:00 GMT', now)).toBe(0)
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter(undefined, now)).toBeUndefined()
  })
  it('backs off exponentially within jitter bounds and a cap', () => {
    expect(backoffMs(0, 100, 10_000, () => 0)).toBe(50)
    expect(backoffMs(0, 100, 10_000, () => 1)).toBe(100)
    expect(backoffMs(3, 100, 10_000, () => 1)).toBe(800)
    expect(backoffMs(20, 100, 1000, () => 1)).toBe(1000)
  })
  it('stops after the attempt count or the total wait budget', () => {
    const budget = new RetryBudget(3, 1000, 100)
    expect(budget.next(0, 400)).toBe(400)
    expect(budget.next(1, 500)).toBe(500)
    expect(budget.next(2, 200)).toBeUndefined() // 1100 ms > budget
    expect(new RetryBudget(1, 10_000, 100).next(1)).toBeUndefined()
  })
})
