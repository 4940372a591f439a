/** References split as the engine splits them, challenges read as registries write them, loopback told apart. */
import { describe, expect, it } from '@jest/globals'
import { parseChallenges } from '../../../src/acquire/registry/auth.js'
import { isLoopback, parseReference } from '../../../src/acquire/registry/reference.js'
import { InputError } from '../../../src/inputs/validate.js'

const D = 'sha256:400a4873b838d1b89194d982c45e5fb3cda4593fbfd7e08a02e76b03b21166f0'

describe('parseReference', () => {
  it.each([
    ['busybox', 'docker.io', 'registry-1.docker.io', 'library/busybox', 'latest', undefined],
    ['tonistiigi/binfmt:qemu-v10.2.3-68', 'docker.io', 'registry-1.docker.io', 'tonistiigi/binfmt', 'qemu-v10.2.3-68', undefined],
    [
      `docker.io/tonistiigi/binfmt:qemu-v10.2.3-68@${D}`,
      'docker.io',
      'registry-1.docker.io',
      'tonistiigi/binfmt',
      'qemu-v10.2.3-68',
      D
    ],
    [`docker.io/busybox@${D}`, 'docker.io', 'registry-1.docker.io', 'library/busybox', undefined, D],
    ['index.docker.io/library/busybox:1.37.0', 'docker.io', 'registry-1.docker.io', 'library/busybox', '1.37.0', undefined],
    ['mirror.gcr.io/library/busybox', 'mirror.gcr.io', 'mirror.gcr.io', 'library/busybox', 'latest', undefined],
    ['ghcr.io/org/sub/image:tag', 'ghcr.io', 'ghcr.io', 'org/sub/image', 'tag', undefined],
    ['localhost/binfmt', 'localhost', 'localhost', 'binfmt', 'latest', undefined],
    ['localhost:5555/binfmt:v1', 'localhost:5555', 'localhost:5555', 'binfmt', 'v1', undefined],
    ['127.0.0.1:5555/a/b:v1', '127.0.0.1:5555', '127.0.0.1:5555', 'a/b', 'v1', undefined],
    ['[::1]:5555/binfmt', '[::1]:5555', '[::1]:5555', 'binfmt', 'latest', undefined],
    ['Registry.Example/binfmt', 'registry.example', 'registry.example', 'binfmt', 'latest', undefined],
    ['org/binfmt', 'docker.io', 'registry-1.docker.io', 'org/binfmt', 'latest', undefined]
  ])('%s', (ref, registry, host, repository, tag, digest) => {
    expect(parseReference(ref)).toEqual({ registry, host, repository, tag, digest })
  })

  it.each(['', 'UPPER', 'a/b:tag:tag', `busybox@sha256:${'0'.repeat(63)}`, 'busybox@md5:abc', 'a//b', '-a/b', 'a/b c'])(
    'refuses %j with the input check',
    ref => {
      expect(() => parseReference(ref)).toThrow(InputError)
    }
  )
})

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1:5000', true],
    ['127.1.2.3', true],
    ['localhost:443', true],
    ['LOCALHOST', true],
    ['[::1]:5000', true],
    ['[0:0:0:0:0:0:0:1]', true],
    ['128.0.0.1', false],
    ['10.0.0.1:5000', false],
    ['192.168.1.1', false],
    ['[::2]', false],
    ['[fe80::1]', false],
    ['localhost.example', false],
    ['127.0.0.1.example', false],
    ['registry-1.docker.io', false]
  ])('%s: %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected)
  })
})

describe('parseChallenges', () => {
  it("reads Docker Hub's", () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'
      )
    ).toEqual([
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' }
      }
    ])
  })

  it('reads several, bare values and escapes', () => {
    expect(
      parseChallenges('Basic realm="basic-realm", Bearer realm="https://t.example/token?x=1",service=reg, error="a \\"b\\""')
    ).toEqual([
      { scheme: 'basic', params: { realm: 'basic-realm' } },
      { scheme: 'bearer', params: { realm: 'https://t.example/token?x=1', service: 'reg', error: 'a "b"' } }
    ])
  })

  it('gives nothing for nothing', () => {
    expect(parseChallenges('')).toEqual([])
  })
})
