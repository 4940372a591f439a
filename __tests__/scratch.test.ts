import { describe, expect, it } from '@jest/globals'
import { MEMORY_DIR, MEMORY_ROOM, isRunnableTmpfs, noexecMountIn, scratchBase, type ScratchLook } from '../src/scratch.js'

describe('a noexec scratch directory', () => {
  const mountinfo = [
    '22 27 0:21 / / rw,relatime - ext4 /dev/vda rw',
    '30 22 0:27 / /tmp rw,nosuid - tmpfs tmpfs rw',
    '31 30 0:28 / /tmp/runner\\040temp rw,nosuid,nodev,noexec - tmpfs tmpfs rw',
    '32 30 0:29 / /tmp/ok rw,noexec - tmpfs tmpfs rw',
    '33 30 0:30 / /tmp/ok rw - tmpfs tmpfs rw'
  ].join('\n')

  it.each([
    ['/tmp/runner temp/setup-qemu-x/probes', '/tmp/runner temp'],
    ['/tmp/runner temp', '/tmp/runner temp'],
    ['/tmp/runner tempo', undefined],
    ['/tmp/ok/probes', undefined],
    ['/home/runner', undefined]
  ])('%s', (dir, expected) => expect(noexecMountIn(mountinfo, dir)).toBe(expected))
})

describe('where a run makes its scratch directory', () => {
  const shm = (options: string, fstype = 'tmpfs'): string =>
    ['22 27 0:21 / / rw,relatime - ext4 /dev/vda rw', `25 24 0:23 / ${MEMORY_DIR} ${options} - ${fstype} ${fstype} rw`].join('\n')
  const look = (mountinfo: string, free = 8 * MEMORY_ROOM): ScratchLook => ({ mountinfo: () => mountinfo, free: () => free })
  const HOSTED = { RUNNER_ENVIRONMENT: 'github-hosted', RUNNER_TEMP: '/home/runner/work/_temp' }

  it.each([
    ['a tmpfs', shm('rw,nosuid,nodev'), true],
    ['a noexec tmpfs (a container job)', shm('rw,nosuid,nodev,noexec'), false],
    ['a disk', shm('rw', 'ext4'), false],
    ['not a mount point', '22 27 0:21 / / rw,relatime - ext4 /dev/vda rw', false],
    ['mounted again noexec over a tmpfs', `${shm('rw')}\n40 25 0:40 / ${MEMORY_DIR} rw,noexec - tmpfs tmpfs rw`, false]
  ])('%s at /dev/shm runs programs: %s', (_what, mountinfo, expected) =>
    expect(isRunnableTmpfs(mountinfo, MEMORY_DIR)).toBe(expected)
  )

  it('a hosted runner uses memory when it has room', () => expect(scratchBase(HOSTED, look(shm('rw')))).toBe(MEMORY_DIR))
  it('not when it lacks room', () => expect(scratchBase(HOSTED, look(shm('rw'), MEMORY_ROOM - 1))).toBe(HOSTED.RUNNER_TEMP))
  it('not when programs cannot run there', () => expect(scratchBase(HOSTED, look(shm('rw,noexec')))).toBe(HOSTED.RUNNER_TEMP))
  it('not when the system cannot be read', () =>
    expect(
      scratchBase(HOSTED, {
        mountinfo: () => {
          throw new Error('no /proc')
        },
        free: () => 0
      })
    ).toBe(HOSTED.RUNNER_TEMP))
  it('a self-hosted runner keeps RUNNER_TEMP, whose files the runner empties', () =>
    expect(scratchBase({ RUNNER_TEMP: '/srv/runner/_temp' }, look(shm('rw')))).toBe('/srv/runner/_temp'))
})
