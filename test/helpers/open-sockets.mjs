// Preloaded into the CLI (NODE_OPTIONS="--import …/open-sockets.mjs"): when the process exits it writes to
// $SLIPWAY_TEST_SOCKETS_FILE how many connections undici opened and how many of them are still open. A command
// that closed its registry client has closed them all; one that left it open exits with its keep-alive
// connections still up.
import {subscribe} from 'node:diagnostics_channel'
import {writeFileSync} from 'node:fs'

const sockets = []
subscribe('undici:client:connected', ({socket}) => void sockets.push(socket))
process.on('exit', () => {
  writeFileSync(process.env.SLIPWAY_TEST_SOCKETS_FILE, JSON.stringify({opened: sockets.length, open: sockets.filter(s => !s.destroyed).length}))
})
