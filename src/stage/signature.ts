import {createHash} from 'node:crypto'

import {canonicalJson} from './canonical.js'
import type {StageName} from './names.js'

/**
 * The tool's cache version: part of every signature. Bump it when the way a stage is built changes so
 * that stages made by older versions are never reused (and `--improper-cache-version` can find them).
 */
export const CACHE_VERSION = '1'

/** A stage signature: 64 lower-case hex digits (the tag is `dimgstage-<signature>`). */
export type StageSignature = string

export const SIGNATURE_RE = /^[a-f0-9]{64}$/

export interface SignatureInput {
  stage: StageName
  parent: StageSignature | null
  /** Exactly what SPEC.md's stage table says the stage covers; a JSON value. */
  content: unknown
  /** Dev-mode signatures are salted so that they never equal normal ones. */
  dev: boolean
  cacheVersion?: string
}

export function stageSignature(input: SignatureInput): StageSignature {
  const payload = {
    cacheVersion: input.cacheVersion ?? CACHE_VERSION,
    ...(input.dev ? {mode: 'dev'} : {}),
    stage: input.stage,
    parent: input.parent,
    content: input.content,
  }
  return sha256Hex(canonicalJson(payload))
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}
