#!/usr/bin/env node
// dist/slipway.js is the whole CLI in one file (scripts/bundle.mjs): one module to load, not hundreds.
if (process.argv.includes('--debug')) process.setSourceMapsEnabled(true)
const {execute} = await import('../dist/slipway.js')
await execute({dir: import.meta.url})
