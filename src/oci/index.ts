export * from './digest.js'
export * from './media-types.js'
export * from './ref.js'
export * from './types.js'
