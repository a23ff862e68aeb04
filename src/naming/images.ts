import type {Repository} from '../oci/ref.js'
import {SIGNATURE_RE} from '../stage/signature.js'
import {nameComponent} from './slug.js'

/** Where stages and final images live, locally and in a registry (SPEC "Stages cache" / "Final images"). */

export const STAGE_TAG_PREFIX = 'dimgstage-'

/** `REPO:dimgstage-<signature>` tag of a stage in a registry. */
export function stageTag(signature: string): string {
  return `${STAGE_TAG_PREFIX}${signature}`
}

/** The signature in a `dimgstage-<signature>` tag, or undefined for any other tag. */
export function signatureOfStageTag(tag: string): string | undefined {
  if (!tag.startsWith(STAGE_TAG_PREFIX)) return undefined
  const signature = tag.slice(STAGE_TAG_PREFIX.length)
  return SIGNATURE_RE.test(signature) ? signature : undefined
}

/** The local cache's image name for a stage; dev stages live in a cache of their own. */
export function localStageName(project: string, signature: string, dev = false): string {
  return `${localStageRepository(project, dev)}:${signature}`
}

export function localStageRepository(project: string, dev = false): string {
  return `${STAGE_TAG_PREFIX}${project}${dev ? '-dev' : ''}`
}

/**
 * The signature in a local stage name of this project's cache (the dev cache with `dev`), or undefined for
 * any other name. Asked with the project known, so a project called `x-dev` is never taken for x's dev cache.
 */
export function localStageSignature(name: string, project: string, dev = false): string | undefined {
  const prefix = `${localStageRepository(project, dev)}:`
  if (!name.startsWith(prefix)) return undefined
  const signature = name.slice(prefix.length)
  return SIGNATURE_RE.test(signature) ? signature : undefined
}

/**
 * The repository a final image is pushed to: `REPO/DIMG` for a named dimg (the name slugged when it is not
 * a valid path component), `REPO` for the unnamed one.
 */
export function finalImageRepository(repo: Repository, dimg: string | null): Repository {
  return dimg === null ? repo : {registry: repo.registry, path: `${repo.path}/${nameComponent(dimg)}`}
}
