/** The image model: manifest and config parsed once, layers as descriptors, bytes wherever they live. */
export {appendLayer, type LayerFacts, normalizeImage, relabel, serializeImage, withContainerConfig} from './compose.js'
export {finalImageOf, finalImageOfRemoteStage} from './final-image.js'
export type {BlobBytes, Image, ImageParts, ImageSource} from './image.js'
export {DownloadCounter, registrySource, storeSource, storeThen} from './sources.js'
export {blobsMissingFrom, fetchMissingLayers, loadStoreImage, saveImage} from './store-image.js'
