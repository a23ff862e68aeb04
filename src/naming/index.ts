export * from './images.js'
export * from './labels.js'
export * from './slug.js'
export * from './tags.js'
