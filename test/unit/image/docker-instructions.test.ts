import {applyDockerInstructions, durationNs} from '../../../src/image/docker-instructions.js'
import {isSlipwayError} from '../../../src/errors.js'

describe('applyDockerInstructions', () => {
  const base = {Env: ['PATH=/bin', 'HOME=/root'], Cmd: ['/bin/sh'], Labels: {a: '1'}}

  it('applies every instruction like a Dockerfile', () => {
    const out = applyDockerInstructions(base, {
      WORKDIR: '/app',
      ENV: {PATH: '/app/bin:$PATH', NAME: 'x', GREETING: 'hi ${NAME}'},
      EXPOSE: ['8080', '53/udp'],
      LABEL: {b: '2'},
      USER: 'www',
      VOLUME: ['/data'],
      CMD: ['serve'],
      ENTRYPOINT: ['/app/run'],
      HEALTHCHECK: {test: 'wget -q localhost', interval: '1m30s', retries: 3},
    })
    expect(out).toEqual({
      Env: ['PATH=/app/bin:/bin', 'HOME=/root', 'NAME=x', 'GREETING=hi x'],
      Cmd: ['serve'],
      Entrypoint: ['/app/run'],
      Labels: {a: '1', b: '2'},
      WorkingDir: '/app',
      User: 'www',
      ExposedPorts: {'8080/tcp': {}, '53/udp': {}},
      Volumes: {'/data': {}},
      Healthcheck: {Test: ['CMD-SHELL', 'wget -q localhost'], Interval: 90e9, Retries: 3},
    })
  })

  it('resets CMD when only ENTRYPOINT is given; shell form wraps in /bin/sh -c', () => {
    expect(applyDockerInstructions(base, {ENTRYPOINT: 'run.sh'})).toMatchObject({Entrypoint: ['/bin/sh', '-c', 'run.sh'], Cmd: null})
  })

  it('leaves the parent config alone', () => {
    applyDockerInstructions(base, {ENV: {X: '1'}, LABEL: {z: '9'}})
    expect(base).toEqual({Env: ['PATH=/bin', 'HOME=/root'], Cmd: ['/bin/sh'], Labels: {a: '1'}})
  })

  it('parses durations and rejects nonsense', () => {
    expect(durationNs('500ms')).toBe(5e8)
    expect(durationNs('1h2m')).toBe(3720e9)
    expect(() => durationNs('soon')).toThrow(/is not a duration/)
    try {
      durationNs('5 minutes')
    } catch (e) {
      expect(isSlipwayError(e) && e.kind).toBe('config')
    }
  })
})
