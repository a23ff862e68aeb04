import {posix} from 'node:path'

import type {DockerInstructions} from '../config/types.js'
import {SlipwayError} from '../errors.js'
import type {ContainerConfig} from '../oci/types.js'

const NS: Record<string, number> = {ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9}

/** Go-style durations ("30s", "1m30s") in nanoseconds, as image configs store healthcheck times. */
export function durationNs(value: string): number {
  let rest = value.trim()
  let total = 0
  if (rest === '') throw new SlipwayError('config', `docker HEALTHCHECK: empty duration`)
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/.exec(rest)
    if (!m) throw new SlipwayError('config', `docker HEALTHCHECK: "${value}" is not a duration`, {hint: 'write e.g. 30s, 1m30s or 500ms'})
    total += Number(m[1]) * NS[m[2]]
    rest = rest.slice(m[0].length)
  }
  return Math.round(total)
}

function execForm(value: string | string[]): string[] {
  return Array.isArray(value) ? value : ['/bin/sh', '-c', value]
}

function resolveEnv(value: string, env: Map<string, string>): string {
  return value.replace(/\$(?:\{(\w+)\}|(\w+))/g, (_, a: string | undefined, b: string | undefined) => env.get((a ?? b)!) ?? '')
}

/**
 * The image config after the `docker` stage: the parent's config with the instructions applied the way a
 * Dockerfile would apply them (ENV values may refer to earlier variables; ENTRYPOINT resets CMD unless
 * CMD is given too).
 */
export function applyDockerInstructions(config: ContainerConfig, instr: DockerInstructions): ContainerConfig {
  const out: ContainerConfig = {...config}
  if (instr.ENV) {
    const env = new Map<string, string>()
    for (const e of config.Env ?? []) {
      const eq = e.indexOf('=')
      env.set(eq === -1 ? e : e.slice(0, eq), eq === -1 ? '' : e.slice(eq + 1))
    }
    for (const [k, v] of Object.entries(instr.ENV)) env.set(k, resolveEnv(v, env))
    out.Env = [...env].map(([k, v]) => `${k}=${v}`)
  }
  // A relative WORKDIR is relative to the one before it, as in a Dockerfile.
  if (instr.WORKDIR !== undefined) out.WorkingDir = posix.resolve(config.WorkingDir || '/', instr.WORKDIR)
  if (instr.ONBUILD) out.OnBuild = [...(config.OnBuild ?? []), ...instr.ONBUILD]
  if (instr.USER !== undefined) out.User = instr.USER
  if (instr.EXPOSE) {
    out.ExposedPorts = {...config.ExposedPorts}
    for (const p of instr.EXPOSE) out.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {}
  }
  if (instr.VOLUME) {
    out.Volumes = {...config.Volumes}
    for (const v of instr.VOLUME) out.Volumes[v] = {}
  }
  if (instr.LABEL) out.Labels = {...config.Labels, ...instr.LABEL}
  if (instr.ENTRYPOINT !== undefined) {
    out.Entrypoint = execForm(instr.ENTRYPOINT)
    if (instr.CMD === undefined) out.Cmd = null
  }
  if (instr.CMD !== undefined) out.Cmd = execForm(instr.CMD)
  if (instr.HEALTHCHECK) {
    const h = instr.HEALTHCHECK
    const test = Array.isArray(h.test) ? h.test : h.test.trim() === 'NONE' ? ['NONE'] : ['CMD-SHELL', h.test.replace(/^CMD-SHELL\s+|^CMD\s+/, '')]
    out.Healthcheck = {
      Test: test,
      ...(h.interval ? {Interval: durationNs(h.interval)} : {}),
      ...(h.timeout ? {Timeout: durationNs(h.timeout)} : {}),
      ...(h.startPeriod ? {StartPeriod: durationNs(h.startPeriod)} : {}),
      ...(h.retries !== undefined ? {Retries: h.retries} : {}),
    }
  }
  return out
}
