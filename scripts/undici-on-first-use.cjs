// What @actions/http-client imports from undici, loaded when first used rather than with the client:
// it takes ProxyAgent for fetch-based clients (getAgentDispatcher), which this action never makes, and
// evaluating undici was a tenth of a run on a host that is already set up. rollup.config.mjs points the
// client's import here.
Object.defineProperty(exports, 'ProxyAgent', { enumerable: true, get: () => require('undici').ProxyAgent })
