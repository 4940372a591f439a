import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { commandLine, ended, runCommand } from '../../src/exec/command.js'
import { printedBy } from '../helpers/output.js'

const alive = (marker: string): string => execFileSync('sh', ['-c', `pgrep -f "^${marker}" || true`], { encoding: 'utf8' }).trim()

describe('running a command', () => {
  it('gives its exit code and output, and passes input', async () => {
    expect(await runCommand('sh', ['-c', 'cat; echo err >&2; exit 3'], { timeout: 10, input: Buffer.from('in') })).toEqual({
      exitCode: 3,
      stdout: 'in',
      stderr: 'err\n'
    })
  })

  it('past its time limit, kills the command and what it started', async () => {
    const marker = `setup-qemu-test-${process.pid}-${Date.now()}`
    await expect(
      runCommand('bash', ['-c', `(exec -a ${marker}-child sleep 30) & exec -a ${marker} sleep 30`], { timeout: 1 })
    ).rejects.toThrow(/did not finish within 1s/)
    await new Promise(r => setTimeout(r, 200))
    expect(alive(marker)).toBe('')
  })

  it('logs every command line and how long it took to the debug log', async () => {
    const out = await printedBy(() => runCommand('true', ['a b', '--x=1'], { timeout: 10 }))
    expect(out).toMatch(/::debug::run: true "a b" --x=1\n/)
    expect(out).toMatch(/::debug::exit 0 after \d+ ms: true "a b" --x=1\n/)
  })

  it('given its input only once it is there, reads it then', async () => {
    const input = new Promise<Buffer>(resolve => setTimeout(() => resolve(Buffer.from('later')), 50))
    expect((await runCommand('cat', [], { timeout: 10, input })).stdout).toBe('later')
  })

  it('hands over its result once the output says the work is done, and ended() waits for its end', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sq-done-'))
    try {
      const flag = path.join(dir, 'ended')
      const r = await runCommand('sh', ['-c', `echo ok 1; echo done; sleep 1; touch ${flag}`], {
        timeout: 10,
        doneWhen: /^done$/m
      })
      expect(r).toEqual({ exitCode: 0, stdout: 'ok 1\ndone\n', stderr: '' })
      expect(fs.existsSync(flag)).toBe(false)
      await ended()
      expect(fs.existsSync(flag)).toBe(true)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('without that output, gives its result when it ends, exit code and all', async () => {
    const r = await runCommand('sh', ['-c', 'echo undone; exit 4'], { timeout: 10, doneWhen: /^done$/m })
    expect(r).toEqual({ exitCode: 4, stdout: 'undone\n', stderr: '' })
    await ended() // nothing left to wait for
  })

  it('shows arguments as they would be typed', () => {
    expect(commandLine('docker', ['run', '--label', 'a=b', '-c', 'echo $x'])).toBe('docker run --label a=b -c "echo $x"')
  })
})
