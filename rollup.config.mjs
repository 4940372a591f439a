// npm run bundle: src/ and its dependencies as the ES modules the runner starts (dist/index.js), with
// what only some runs need (the Actions cache client) in a chunk of its own that loads when asked for.
// Rollup leaves out the parts of the dependencies this action never calls, which keeps the start short.
import commonjs from '@rollup/plugin-commonjs'
import json from '@rollup/plugin-json'
import { nodeResolve } from '@rollup/plugin-node-resolve'
import terser from '@rollup/plugin-terser'
import typescript from '@rollup/plugin-typescript'
import license from 'rollup-plugin-license'
import { fileURLToPath } from 'node:url'

/** dist/, unless a test builds the bundle elsewhere to run it (SETUP_QEMU_BUNDLE_DIR). */
const DIR = process.env.SETUP_QEMU_BUNDLE_DIR || 'dist'

/** dist/ is run as ES modules whatever package.json the action's checkout has around it. */
const moduleType = {
  name: 'module-type',
  generateBundle() {
    this.emitFile({ type: 'asset', fileName: 'package.json', source: '{\n  "type": "module"\n}\n' })
  }
}

/** A plugin answering one import (source) of the modules under a node_modules folder with a file of ours. */
const answer = (name, source, importerDir, file) => {
  const id = fileURLToPath(new URL(file, import.meta.url))
  return { name, resolveId: (s, importer) => (s === source && importer?.includes(importerDir) ? id : null) }
}

/** The HTTP client's import of undici, answered by scripts/undici-on-first-use.cjs. */
const undiciOnFirstUse = answer(
  'undici-on-first-use',
  'undici',
  '/node_modules/@actions/http-client/',
  './scripts/undici-on-first-use.cjs'
)

/**
 * The cache library's own tar (`tar -P`, into GITHUB_WORKSPACE), answered with the action's archive
 * module: its extractTar refuses any member that is absolute, has a `..` part, or is not a regular file
 * or directory, and writes only into a directory the restore chose.
 */
const cacheArchive = answer(
  'cache-archive',
  './internal/tar.js',
  '/node_modules/@actions/cache/lib/',
  './src/acquire/actions-cache/archive.ts'
)

/**
 * The tool cache's import of the HTTP client, answered with src/acquire/tool-cache/http-on-first-use.ts:
 * a run that only reads the tool cache then never loads the client.
 */
const toolCacheHttpOnFirstUse = answer(
  'tool-cache-http-on-first-use',
  '@actions/http-client',
  '/node_modules/@actions/tool-cache/',
  './src/acquire/tool-cache/http-on-first-use.ts'
)

/** Node's http, wherever the bundle imports it, as scripts/node-http-commonjs.mjs gives it. */
const NODE_HTTP = fileURLToPath(new URL('./scripts/node-http-commonjs.mjs', import.meta.url))
const nodeHttpThroughRequire = {
  name: 'node-http-through-require',
  resolveId(source, importer) {
    if ((source === 'http' || source === 'node:http') && importer !== NODE_HTTP)
      return { id: NODE_HTTP, syntheticNamedExports: 'default' }
    return null
  }
}

/** Chunks of their own for what the lazily loaded parts share, named for what they hold. */
const SHARED = [
  [
    'http-client',
    /\/node_modules\/(@actions\/http-client|undici|tunnel)\/|\/(undici-on-first-use\.cjs|node-http-commonjs\.mjs)$/
  ],
  ['semver', /\/node_modules\/semver\//],
  ['tar', /\/node_modules\/(tar|minipass|minizlib|chownr|yallist|@isaacs\/fs-minipass|fs-minipass)\//],
  // the cache library loads it, and so does the main chunk: small, and free of the toolkit
  ['cache-archive', /\/src\/acquire\/actions-cache\/archive\.ts$/]
]

const compare = (a, b) => (a < b ? -1 : a > b ? 1 : 0)
/** The third-party licenses, in the plugin's own format, sorted by name and version (not by locale). */
const byName = dependencies =>
  [...dependencies]
    .sort((a, b) => compare(a.name, b.name) || compare(a.version, b.version))
    .map(d => d.text())
    .join('\n\n---\n\n')

/** Warnings of dependencies' own code that change nothing in what is bundled. */
const harmless = w =>
  (w.code === 'THIS_IS_UNDEFINED' || w.code === 'CIRCULAR_DEPENDENCY') &&
  [w.id, ...(w.ids ?? [])].some(id => id?.includes('/node_modules/'))

export default {
  input: 'src/index.ts',
  // core's OIDC client is never called here; kept, it would load an HTTP client (undici) at every start
  treeshake: { moduleSideEffects: id => !id.endsWith('/@actions/core/lib/oidc-utils.js') },
  output: {
    dir: DIR,
    format: 'es',
    entryFileNames: 'index.js',
    chunkFileNames: '[name].js',
    // what the tool cache and the Actions cache client both use, loaded with the first of them
    manualChunks: id => SHARED.find(([, pattern]) => pattern.test(id))?.[0]
  },
  onwarn(warning, warn) {
    if (!harmless(warning)) warn(warning)
  },
  plugins: [
    typescript({ include: ['src/**/*.ts'], outDir: DIR, declaration: false, sourceMap: false }),
    undiciOnFirstUse,
    cacheArchive,
    toolCacheHttpOnFirstUse,
    nodeHttpThroughRequire,
    nodeResolve({ preferBuiltins: true }),
    // a require() inside try/catch is bundled like any other: left as it is, it would throw in an ES module
    commonjs({ ignoreTryCatch: false }),
    json(),
    // shorter names only: dependencies compare errors by their class's name (the cache client's save race)
    // ASCII only: Node decodes and V8 parses a one-byte source faster than one with a single other character
    terser({ compress: false, mangle: { keep_classnames: true, keep_fnames: true }, format: { ascii_only: true } }),
    // rollup meets the dependencies in an order that varies from run to run: sorted, the file does not
    license({ thirdParty: { output: { file: `${DIR}/licenses.txt`, template: byName } } }),
    moduleType
  ]
}
