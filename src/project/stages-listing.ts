import {stageTag} from '../naming/index.js'
import type {StageSignature} from '../stage/signature.js'
import {listedName, type ProjectPlan} from './project-plan.js'

/** `REPO:dimgstage-<signature>`. */
function stageImageName(repo: string, signature: StageSignature): string {
  return `${repo}:${stageTag(signature)}`
}

/**
 * The seeds' dry-run listing of `dimg stages push/pull` as data: for each dimg (artifacts included, in build
 * order) its name, the name it is listed under (the project's for the unnamed dimg) and its stages as
 * `REPO:dimgstage-<signature>`, first stage first.
 */
export interface StagesListingJson {
  project: string
  repo: string
  cacheVersion: string
  dev: boolean
  dimgs: {
    name: string | null
    listedAs: string
    isArtifact: boolean
    stages: {name: string; signature: string; parentSignature: string | null; image: string; gitCommit?: string}[]
  }[]
}

export function stagesListingJson(plan: ProjectPlan, repo: string): StagesListingJson {
  return {
    project: plan.project.name,
    repo,
    cacheVersion: plan.cacheVersion,
    dev: plan.project.dev,
    dimgs: plan.dimgs.map((d) => ({
      name: d.name,
      listedAs: listedName(plan, d),
      isArtifact: d.isArtifact,
      stages: d.stages.map((s) => ({
        name: s.name,
        signature: s.signature,
        parentSignature: s.parentSignature,
        image: stageImageName(repo, s.signature),
        ...(s.gitCommit === undefined ? {} : {gitCommit: s.gitCommit}),
      })),
    })),
  }
}
