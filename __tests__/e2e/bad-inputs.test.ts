/** Bad inputs fail the step before anything changes: the message names the input, and nothing runs. */
import { beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import { IMG, act, clearEntries, env, snapshot, useHost } from './host.js'

useHost()

const DL = { source: 'download', 'download-sha256': env.TARBALL_SHA256 }
const CASES: [string, string, Record<string, string>][] = [
  ['platform', 'unknown platform "arm65". Accepted: all,', { platforms: 'arm64,arm65', ...IMG }],
  ['shell-in-platforms', 'unknown platform', { platforms: 'arm64;touch /tmp/pwned', ...IMG }],
  ['long-platforms', 'input platforms is longer than 2048 characters', { platforms: 'a'.repeat(3000), ...IMG }],
  ['image', 'input image is not an image reference', { image: 'busybox;id', 'helper-image': env.HELPER_IMAGE }],
  ['helper', 'input helper-image is not an image reference', { image: env.BINFMT_IMAGE, 'helper-image': '$(id)' }],
  [
    'newline',
    'contains a control character or line break',
    { image: `${env.BINFMT_IMAGE}\n--privileged`, 'helper-image': env.HELPER_IMAGE }
  ],
  ['boolean', 'input reset must be true or false, got "yes"', { reset: 'yes', ...IMG }],
  ['privileged', 'input privileged must be one of auto, true, false', { privileged: 'maybe', ...IMG }],
  ['source', 'input source must be one of image, download', { source: 'ftp', ...IMG }],
  ['register-from', 'input register-from must be one of auto, runner, container', { 'register-from': 'docker', ...IMG }],
  ['url', 'input download-url must be an http or https URL', { ...DL, 'download-url': 'file:///etc/passwd' }],
  [
    'sha',
    'must be 64 hexadecimal digits',
    { source: 'download', 'download-url': `${env.HTTP}/x.tar.gz`, 'download-sha256': 'xyz' }
  ],
  ['timeout', 'input timeout must be a whole number', { timeout: '-1', ...IMG }]
]

describe('bad inputs', () => {
  let before: string
  beforeAll(() => {
    clearEntries()
    fs.rmSync('/tmp/pwned', { force: true })
    before = snapshot()
  })

  describe.each(CASES)('%s', (name, message, inputs) => {
    it(`fails, says ${JSON.stringify(message)}, and stops at the inputs`, async () => {
      const r = await act(name, inputs)
      expect(r.rc).toBe(1)
      expect(r.mainLog).toContain(message)
      expect(r.mainLog).not.toContain('::group::Host')
    })
  })

  it('no file was created by an input', () => expect(fs.existsSync('/tmp/pwned')).toBe(false))
  it('binfmt_misc is unchanged', () => expect(snapshot()).toBe(before))
})
