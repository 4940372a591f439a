import { describe, expect, it } from '@jest/globals'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isPostStep, startProbes, workDir } from '../src/early.js'
import { fromStatus, runProbes } from '../src/probe/run.js'

describe('a shell exit status as a probe result', () => {
  it.each([
    [42, { ok: true }],
    [127, { ok: false, error: 'interpreter missing' }],
    [126, { ok: false, error: 'exec failed' }],
    [139, { ok: false, error: 'crashed', detail: 'killed by signal 11' }],
    [2, { ok: false, error: 'wrong exit code', detail: 'exit code 2, expected 42' }],
    [0, { ok: false, error: 'wrong exit code' }]
  ])('%i', (status, expected) => expect(fromStatus(status)).toMatchObject(expected))
})

describe('running probes from one shell', () => {
  it('reports each file by its own status, including ones that do not exist', async () => {
    const results = await runProbes(new Map([['true', '/bin/true'], ['false', '/bin/false'], ['gone', '/nonexistent/probe']]))
    expect(results.get('true')).toMatchObject({ ok: false, error: 'wrong exit code', detail: 'exit code 0, expected 42' })
    expect(results.get('false')).toMatchObject({ ok: false, detail: 'exit code 1, expected 42' })
    expect(results.get('gone')).toMatchObject({ ok: false, error: 'interpreter missing' })
  })
})

describe('the early start', () => {
  const env = (over: Record<string, string>): NodeJS.ProcessEnv => ({ RUNNER_TEMP: mkdtempSync(join(tmpdir(), 'early-')), ...over })

  it('probes the host for a valid platforms input, and its own platform passes', async () => {
    const e = env({ INPUT_PLATFORMS: 'arm64, s390x' })
    const early = startProbes(e)
    expect(early?.requested).not.toBe('all')
    const r = await early?.probing
    expect(r?.probes.size).toBe(10)
    expect(r?.before.get(process.arch === 'x64' ? 'amd64' : 'arm64')).toEqual({ ok: true })
    expect([...(r?.before.keys() ?? [])]).toEqual(expect.arrayContaining(['arm64', 's390x']))
    expect(r?.probes.get('s390x')).toBe(join(workDir(e), 'probes', 'probe-s390x'))
  })

  it('leaves a bad input and the post step to main', () => {
    expect(startProbes(env({ INPUT_PLATFORMS: 'arm65' }))).toBeUndefined()
    expect(startProbes(env({ STATE_isPost: 'true' }))).toBeUndefined()
    expect(isPostStep({ STATE_isPost: 'true' })).toBe(true)
    expect(isPostStep({})).toBe(false)
  })
})
