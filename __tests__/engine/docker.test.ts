import { afterAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Docker } from '../../src/engine/docker.js'

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
})
