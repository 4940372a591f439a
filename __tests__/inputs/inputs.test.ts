import { afterEach, describe, expect, it } from '@jest/globals'
import { SOURCE_KINDS } from '../../src/acquire/index.js'
import { DEFAULT_HELPER_IMAGE, DEFAULT_IMAGE } from '../../src/constants.js'
import { readInputs, type Inputs } from '../../src/inputs/inputs.js'
import { byArch } from '../../src/platform/platforms.js'

const saved = { ...process.env }
afterEach(() => {
  process.env = { ...saved }
})

/** The inputs as the runner hands them over: INPUT_<NAME>, hyphens kept. */
function withInputs(inputs: Record<string, string>): void {
  for (const k of Object.keys(process.env)) if (k.startsWith('INPUT_')) delete process.env[k]
  for (const [k, v] of Object.entries(inputs)) process.env[`INPUT_${k.toUpperCase()}`] = v
}

const defaults: Inputs = {
  platforms: 'all',
  named: [],
  image: DEFAULT_IMAGE,
  helperImage: DEFAULT_HELPER_IMAGE,
  reset: false,
  cacheImage: true,
  cleanup: false,
  privileged: 'auto',
  registerFrom: 'auto',
  source: 'image',
  downloadUrl: '',
  downloadSha256: '',
  timeout: 600,
  summary: true,
  registryMirror: ''
}
const pinned = `registry.example:5000/team/binfmt:qemu-v10@sha256:${'a'.repeat(64)}`

describe('readInputs: INPUT_* in, typed inputs out', () => {
  it.each([
    ['nothing set: the defaults', {}, {}],
    ['empty values: the defaults too', { platforms: '', reset: '', 'cache-image': '', timeout: '' }, {}],
    [
      'platforms, in table order, duplicates once',
      { platforms: 's390x, linux/arm64\narm64' },
      { platforms: [byArch('arm64'), byArch('s390x')], named: [byArch('arm64'), byArch('s390x')] }
    ],
    ['only separators: all, as upstream has it', { platforms: ' , \n,' }, {}],
    ['all beside named platforms: those stay named', { platforms: 'all,linux/riscv64' }, { named: [byArch('riscv64')] }],
    [
      'quoted CSV',
      { platforms: '"linux/arm64","linux/s390x"' },
      { platforms: [byArch('arm64'), byArch('s390x')], named: [byArch('arm64'), byArch('s390x')] }
    ],
    [
      'booleans in any case',
      { reset: 'TRUE', 'cache-image': 'False', cleanup: 'true' },
      { reset: true, cacheImage: false, cleanup: true }
    ],
    [
      'images pinned elsewhere',
      { image: pinned, 'helper-image': 'mirror.gcr.io/library/busybox:1.37.0' },
      { image: pinned, helperImage: 'mirror.gcr.io/library/busybox:1.37.0' }
    ],
    ['privilege and source words', { privileged: 'False', source: 'Download' }, { privileged: 'false', source: 'download' }],
    [
      'a download mirror and checksum, upper-case hex lowered',
      { 'download-url': 'https://m.example/{version}/q-{arch}.tgz', 'download-sha256': 'AB'.repeat(32) },
      { downloadUrl: 'https://m.example/{version}/q-{arch}.tgz', downloadSha256: 'ab'.repeat(32) }
    ],
    ['a timeout', { timeout: '42' }, { timeout: 42 }],
    ['no job summary', { summary: 'false' }, { summary: false }],
    ['a registry mirror', { 'registry-mirror': 'mirror.gcr.io' }, { registryMirror: 'mirror.gcr.io' }],
    [
      'a mirror with a port and a path',
      { 'registry-mirror': 'https://harbor.example:8443/dockerhub' },
      { registryMirror: 'https://harbor.example:8443/dockerhub' }
    ]
  ])('%s', (_, inputs, expected) => {
    withInputs(inputs)
    expect(readInputs(SOURCE_KINDS)).toEqual({ ...defaults, ...expected })
  })
})

describe('readInputs: the exact error for a bad value', () => {
  it.each([
    [{ platforms: 'arm65' }, /^unknown platform "arm65"\. Accepted: all, amd64, /],
    [
      { platforms: 'a'.repeat(2049) },
      /^input platforms is longer than 2048 characters, more than any value it takes: shorten it$/
    ],
    [
      { image: 'busybox;id' },
      /^input image is not an image reference: "busybox;id": it has a character no reference can have \(";"\)\. Write it as /
    ],
    [
      { 'helper-image': 'ghcr.io/MyOrg/busybox' },
      /^input helper-image is not an image reference: "ghcr.io\/MyOrg\/busybox": its repository path has upper-case letters \("MyOrg"\), and registries take lower case only: write "myorg"\. Write it as /
    ],
    [
      { image: `${pinned}\n--privileged` },
      /^input image contains a control character or line break: write it on one line \(only platforms may have several\)$/
    ],
    [{ reset: 'yes' }, /^input reset must be true or false, got "yes"$/],
    [{ privileged: 'maybe' }, /^input privileged must be one of auto, true, false, got "maybe"$/],
    [{ source: 'ftp' }, /^input source must be one of image, download, got "ftp"$/],
    [
      { 'download-url': 'file:///etc/passwd' },
      /^input download-url must be an http or https URL, got file: \(nothing else is downloaded\)$/
    ],
    [{ 'download-sha256': 'xyz' }, /^input download-sha256 must be 64 hexadecimal digits \(a SHA-256\), got "xyz"$/],
    [{ timeout: '-1' }, /^input timeout must be a whole number of seconds from 1 to 99999, got "-1"$/],
    [{ timeout: '0' }, /^input timeout must be a whole number of seconds from 1 to 99999, got "0"$/],
    ...[
      'mirror.gcr.io/library/busybox:1.37',
      'https://user:pass@mirror.example',
      'mirror.example?x=1',
      'ftp://mirror.example',
      'mirror.example/Hub',
      'mirror example'
    ].map((value): [Record<string, string>, RegExp] => [
      { 'registry-mirror': value },
      /^input registry-mirror is not a registry host: .*\. Write it as host\[:port\]\[\/path\] of a registry that serves Docker Hub's images/
    ])
  ])('%j', (inputs, message) => {
    withInputs(inputs)
    expect(() => readInputs(SOURCE_KINDS)).toThrow(message)
  })
})
