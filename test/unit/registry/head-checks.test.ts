import {headNeedsConfirmation} from '../../../src/registry/head-checks.js'

describe('registries whose HEAD 404s are confirmed with GET', () => {
  it.each([
    ['nexus.corp.example', true],
    ['docker-nexus.corp.example:8443', true],
    ['acme.jfrog.io', true],
    ['artifactory.corp.example', true],
    ['harbor.corp.example', true],
    ['registry-1.docker.io', false],
    ['ghcr.io', false],
    ['nexusless.example', false],
    ['127.0.0.1:5000', false],
  ])('%s → %s', (host, confirm) => {
    expect(headNeedsConfirmation(host, [])).toBe(confirm)
  })

  it('hosts listed in SLIPWAY_HEAD_CONFIRM_REGISTRIES are confirmed too', () => {
    expect(headNeedsConfirmation('127.0.0.1:5000', ['127.0.0.1:5000'])).toBe(true)
    expect(headNeedsConfirmation('127.0.0.1:5001', ['127.0.0.1:5000'])).toBe(false)
  })
})
