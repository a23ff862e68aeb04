'use strict'
// What dist/slipway.cjs takes from undici: Agent, with the Dispatcher API methods (`request`) that undici's
// index.js attaches. The index also loads fetch, WebSocket, EventSource, cookies, caches and mocks eagerly,
// about 40 ms of every registry command's start-up, none of which slipway uses (src/registry/http.ts
// imports Agent and the Dispatcher type only; the tests run src/ against the full index).
const Dispatcher = require('undici/lib/dispatcher/dispatcher')
const api = require('undici/lib/api')

Object.assign(Dispatcher.prototype, api)

module.exports.Dispatcher = Dispatcher
module.exports.Agent = require('undici/lib/dispatcher/agent')
