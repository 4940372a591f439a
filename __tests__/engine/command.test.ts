import { describe, expect, it, jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { commandLine, runCommand } from '../../src/engine/command.js'

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
    const out: string[] = []
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(chunk => (out.push(String(chunk)), true))
    try {
      await runCommand('true', ['a b', '--x=1'], { timeout: 10 })
    } finally {
      write.mockRestore()
    }
    expect(out.join('')).toMatch(/::debug::run: true "a b" --x=1\n/)
    expect(out.join('')).toMatch(/::debug::exit 0 after \d+ ms: true "a b" --x=1\n/)
  })

  it('given its input only once it is there, reads it then', async () => {
    const input = new Promise<Buffer>(resolve => setTimeout(() => resolve(Buffer.from('later')), 50))
    expect((await runCommand('cat', [], { timeout: 10, input })).stdout).toBe('later')
  })

  it('shows arguments as they would be typed', () => {
    expect(commandLine('docker', ['run', '--label', 'a=b', '-c', 'echo $x'])).toBe('docker run --label a=b -c "echo $x"')
  })
})
