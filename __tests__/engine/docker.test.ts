import { describe, expect, it } from '@jest/globals'
import { pullFailure } from '../../src/engine/docker.js'

describe('what a failed pull says about itself', () => {
  it.each([
    ['Error response from daemon: Head "https://r/v2/x/manifests/1": unauthorized: authentication required', 'auth'],
    [
      "Error response from daemon: pull access denied for x, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
      'auth'
    ],
    ['Error response from daemon: manifest for r/x:1 not found: manifest unknown: manifest unknown', 'not found'],
    ['Error response from daemon: manifest unknown', 'not found'],
    ['invalid reference format', 'permanent'],
    ['no matching manifest for linux/amd64 in the manifest list entries', 'permanent'],
    ['Error response from daemon: received unexpected HTTP status: 503 Service Unavailable', 'transient'],
    ['Error response from daemon: Get "http://r/v2/": EOF', 'transient'],
    ['toomanyrequests: You have reached your pull rate limit', 'transient'],
    ['net/http: TLS handshake timeout', 'transient'],
    ['Error response from daemon: Get "https://r/v2/": read: connection reset by peer', 'transient']
  ])('%s', (stderr, kind) => expect(pullFailure(stderr)).toBe(kind))
})

describe('engine calls', () => {
  it('run with content trust off, as the docker toolkit sets it, whatever the job set', async () => {
    const { Docker } = await import('../../src/engine/docker.js')
    const fs = await import('node:fs')
    const os = await import('node:os')
    const path = await import('node:path')
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-docker-'))
    const bin = path.join(dir, 'docker')
    fs.writeFileSync(bin, '#!/bin/sh\necho "trust=$DOCKER_CONTENT_TRUST host=$DOCKER_HOST"\n', { mode: 0o755 })
    process.env.DOCKER_CONTENT_TRUST = '1'
    process.env.DOCKER_HOST = 'tcp://127.0.0.1:2375'
    try {
      const r = await new Docker(10, bin).call(['version'])
      // the user's engine settings pass through untouched
      expect(r.stdout.trim()).toBe('trust=false host=tcp://127.0.0.1:2375')
    } finally {
      delete process.env.DOCKER_CONTENT_TRUST
      delete process.env.DOCKER_HOST
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
