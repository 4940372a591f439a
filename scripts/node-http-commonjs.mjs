// Node's http for the bundle, taken through require: imported as an ES module, Node's facade reads every
// export, and that evaluates the WebSocket client (undici) http exposes lazily, about 45 ms of a run.
// rollup.config.mjs points the bundle's imports of http here, and takes each name from this default.
import { createRequire } from 'node:module'

export default createRequire(import.meta.url)('node:http')
