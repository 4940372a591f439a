import { afterAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { hostPlatform } from '../../src/platform/host.js'
import { Docker, pullFailure } from '../../src/engine/docker.js'
import { HelperContainer } from '../../src/helper/container.js'
import { HelperView } from '../../src/helper/view.js'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-test-'))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** A stand-in CLI: a shell script that answers `info` and `--version` as told. */
function cli(name: string, info: string, version: string): string {
  const file = path.join(dir, name)
  fs.writeFileSync(file, `#!/bin/sh\ncase "$1" in\n  --version) echo '${version}' ;;\n  info) ${info} ;;\nesac\n`, {
    mode: 0o755
  })
  return file
}

describe('an engine CLI that is not Docker', () => {
  it("Podman's docker-compatible CLI is named, with what to do, not called an unreachable daemon", async () => {
    const bin = cli(
      'podman-docker',
      `echo 'Error: template: info:1:7: executing "info" at <.SecurityOptions>: can'"'"'t evaluate field SecurityOptions in type *define.Info' >&2; exit 125`,
      'podman version 4.3.1'
    )
    await expect(new Docker(60, bin).info()).rejects.toThrow(
      /here is Podman's docker-compatible CLI \(podman version 4\.3\.1\), and this action needs a Docker engine.*rootful Docker engine/
    )
  })

  it('a daemon that is down is still said to be unreachable', async () => {
    const bin = cli(
      'down',
      `echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2; exit 1`,
      'Docker version 28.0.0'
    )
    await expect(new Docker(60, bin).info()).rejects.toThrow(/^the Docker daemon is not reachable/)
  })

  it('a socket this user may not open is said to be a permission problem, with what to do, not a daemon to start', async () => {
    const bin = cli(
      'no-permission',
      `echo 'permission denied while trying to connect to the docker API at unix:///var/run/docker.sock' >&2; exit 1`,
      'Docker version 29.1.3, build f52814d'
    )
    const err = await new Docker(60, bin).info().catch((e: Error) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).message).toMatch(
      /^this user may not use the Docker daemon: its socket refused the connection \(permission denied/
    )
    expect((err as Error).message).toContain('docker group')
    expect((err as Error).message).toContain('DOCKER_HOST')
    expect((err as Error).message).not.toContain('systemctl start')
  })
})

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

describe('an engine named by the endpoint main saved', () => {
  it("is the one post reaches, whatever the job's DOCKER_HOST or context says by then", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-docker-'))
    const bin = path.join(dir, 'docker')
    fs.writeFileSync(bin, '#!/bin/sh\necho "host=${DOCKER_HOST-unset} context=${DOCKER_CONTEXT-unset}"\n', { mode: 0o755 })
    process.env.DOCKER_HOST = 'tcp://set-by-a-later-step:2375'
    process.env.DOCKER_CONTEXT = 'later'
    try {
      const byHost = await new Docker(10, bin, { host: 'unix:///var/run/docker.sock' }).call(['version'])
      expect(byHost.stdout.trim()).toBe('host=unix:///var/run/docker.sock context=unset')
      const byContext = await new Docker(10, bin, { context: 'default' }).call(['version'])
      expect(byContext.stdout.trim()).toBe('host=unset context=default')
    } finally {
      delete process.env.DOCKER_HOST
      delete process.env.DOCKER_CONTEXT
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("a job's DOCKER_DEFAULT_PLATFORM", () => {
  it('does not reach the helper container, which runs as the image this host pulled; the rest of the environment does', async () => {
    const seen = path.join(dir, 'helper-env')
    const bin = path.join(dir, 'docker-for-helper')
    // answers as an engine with the helper image for this host, and records what `run` was given
    fs.writeFileSync(
      bin,
      [
        '#!/bin/sh',
        'case "$1" in',
        "  info) echo '[]' ;;",
        `  image) echo 'sha256:${'e'.repeat(64)} ${hostPlatform().platforms[0]}' ;;`,
        `  run) { echo "args $*"; echo "platform \${DOCKER_DEFAULT_PLATFORM-unset}"; echo "host \${DOCKER_HOST-unset}"; } > '${seen}'`,
        "      printf 'ready\\nstatus enabled\\nboot b\\nmachine x\\ndone\\n' ;;",
        'esac',
        ''
      ].join('\n'),
      { mode: 0o755 }
    )
    process.env.DOCKER_DEFAULT_PLATFORM = 'linux/arm64'
    process.env.DOCKER_HOST = 'unix:///run/other.sock'
    try {
      const look = await new HelperView(
        new HelperContainer({ engine: new Docker(10, bin), image: 'busybox', privilege: 'auto', limit: 60 })
      ).look(new Map())
      expect(look.bootId).toBe('b')
      const recorded = fs.readFileSync(seen, 'utf8')
      expect(recorded).toContain('platform unset\n')
      expect(recorded).toContain('host unix:///run/other.sock\n')
      expect(recorded).toMatch(/^args run --rm /)
      expect(recorded).not.toContain('--platform')
    } finally {
      delete process.env.DOCKER_DEFAULT_PLATFORM
      delete process.env.DOCKER_HOST
    }
  })
})
