import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { constants } from 'node:os'
import { spawnInGroup } from '../../src/exec/spawn.js'

const alive = (marker: string): string => execFileSync('sh', ['-c', `pgrep -f "^${marker}" || true`], { encoding: 'utf8' }).trim()
const quiet = { stdout: 'ignore', stderr: 'ignore', input: 'ignore' } as const

describe('a program in a group of its own', () => {
  it('ends with its exit status and what it printed', async () => {
    const child = spawnInGroup('sh', ['-c', 'cat; echo err >&2; exit 3'], {
      limitMs: 10_000,
      input: Buffer.from('in'),
      stdout: 'pipe',
      stderr: 'pipe'
    })
    expect(await child.ended).toEqual({ status: 3 })
    expect(Buffer.concat(child.stdout).toString()).toBe('in')
    expect(Buffer.concat(child.stderr).toString()).toBe('err\n')
  })

  it('killed by a signal, ends with 128 + its number', async () => {
    const child = spawnInGroup('sh', ['-c', 'kill -TERM $$'], { limitMs: 10_000, ...quiet })
    expect(await child.ended).toEqual({ status: 128 + constants.signals.SIGTERM, signal: 'SIGTERM' })
  })

  it('past its limit, is killed with what it started', async () => {
    const marker = `setup-qemu-spawn-${process.pid}-${Date.now()}`
    const child = spawnInGroup('bash', ['-c', `(exec -a ${marker}-child sleep 30) & exec -a ${marker} sleep 30`], {
      limitMs: 500,
      ...quiet
    })
    expect(await child.ended).toEqual({ timedOut: true })
    await new Promise(r => setTimeout(r, 200))
    expect(alive(marker)).toBe('')
  })

  it('that cannot start, says why', async () => {
    const how = await spawnInGroup('/nonexistent/program', [], { limitMs: 10_000, ...quiet }).ended
    expect('error' in how && how.error.code).toBe('ENOENT')
  })
})
