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
