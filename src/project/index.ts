/** A project: its directory loaded (config, name, git) and planned into dimgs and stages. */
export {describeDimg, loadProject, type LoadProjectOptions, type Project, type ProjectGit} from './load-project.js'
export {buildOrder, type DimgPlan, importSourceSignature, listedName, planProject, type PlanProjectOptions, type ProjectPlan} from './project-plan.js'
export {type PlanContext, type PlanRequest, planWithCaches} from './plan-with-caches.js'
export {type StagesListingJson, stagesListingJson} from './stages-listing.js'
