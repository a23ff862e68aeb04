/** The stages cache: one interface, the local store and a registry repository behind it. */
export {StageCaches} from './caches.js'
export {carryOut, type CleanupResult, finalImagesFor, type GatheredStage, type ListedProject, ofProject, type StageRow, stagesIn} from './contents.js'
export {type CachedProject, type CacheContext, registryStagesCache, stageCaches, stagesCacheAt} from './project-caches.js'
export {LocalStagesCache} from './local.js'
export {RegistryStagesCache, type RegistryStagesCacheOptions} from './registry.js'
export {lookUpStageTag, mismatchWarning, type RegistryAccess, type StageLookup} from './stage-tags.js'
export {
  type CachedStage,
  canListStages,
  type FinalImage,
  type FinalImageListing,
  holdsFinalImages,
  type ListedStage,
  type StageListing,
  type StagesCache,
} from './stages-cache.js'
