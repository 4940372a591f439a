/**
 * Credentials from a Docker config written by the test, with credential helpers that are small
 * scripts on PATH recording how they were called.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { configFile, credentialsFor, validHelperName } from '../../../src/acquire/registry/credentials.js'
import { tempDirs } from '../../helpers/tmp.js'

const tmp = tempDirs('sq-creds')
const bin = tmp('bin')
const calls = path.join(tmp('calls'), 'calls')
const savedPath = process.env.PATH
beforeAll(() => {
  process.env.PATH = `${bin}:${savedPath}`
})
afterAll(() => {
  process.env.PATH = savedPath
})

/** A helper that records its arguments and stdin, then prints answer (or fails with it). */
function helper(name: string, answer: object | string, exitCode = 0): void {
  const out = typeof answer === 'string' ? answer : JSON.stringify(answer)
  fs.writeFileSync(
    path.join(bin, `docker-credential-${name}`),
    `#!/bin/sh\nin=$(cat)\nprintf '%s %s %s|%s\\n' "${name}" "$#" "$*" "$in" >> '${calls}'\nprintf '%s' '${out}'\nexit ${exitCode}\n`,
    { mode: 0o755 }
  )
}
const called = (): string[] => (fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n') : [])

/** A config file holding config; the lookup for registry; the debug lines it wrote. */
async function lookup(config: object | string, registry: string) {
  const file = path.join(tmp('config'), 'config.json')
  fs.writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config))
  fs.rmSync(calls, { force: true })
  const debug: string[] = []
  const creds = await credentialsFor(registry, m => void debug.push(m), file)
  return { creds, debug, calls: called() }
}
const b64 = (s: string): string => Buffer.from(s).toString('base64')

helper('first', { ServerURL: 'x', Username: 'from-first', Secret: 'first-secret' })
helper('store', { ServerURL: 'x', Username: 'from-store', Secret: 'store-secret' })
helper('token', { ServerURL: 'x', Username: '<token>', Secret: 'refresh-me' })
helper('empty', 'credentials not found in native keychain', 1)
helper('garbled', 'not json')

describe('auths', () => {
  it('reads `auth` as base64 user:password (a colon in the password kept)', async () => {
    const { creds } = await lookup({ auths: { '127.0.0.1:5555': { auth: b64('me:pa:ss') } } }, '127.0.0.1:5555')
    expect(creds).toEqual({ username: 'me', password: 'pa:ss' })
  })

  it('reads an identity token, and username/password fields', async () => {
    expect((await lookup({ auths: { 'r.example': { identitytoken: 'tok' } } }, 'r.example')).creds).toEqual({
      identityToken: 'tok'
    })
    expect((await lookup({ auths: { 'r.example': { username: 'u', password: 'p' } } }, 'r.example')).creds).toEqual({
      username: 'u',
      password: 'p'
    })
  })

  it("finds Docker Hub's login under its historical key, and other forms of it", async () => {
    for (const key of ['https://index.docker.io/v1/', 'docker.io', 'https://registry-1.docker.io']) {
      expect((await lookup({ auths: { [key]: { auth: b64('hub:pw') } } }, 'docker.io')).creds).toEqual({
        username: 'hub',
        password: 'pw'
      })
    }
  })

  it('finds a key written as a URL, and never another registry’s', async () => {
    const auths = { 'https://reg.example:5000/v2/': { auth: b64('a:b') }, 'other.example': { auth: b64('c:d') } }
    expect((await lookup({ auths }, 'reg.example:5000')).creds).toEqual({ username: 'a', password: 'b' })
    expect((await lookup({ auths }, 'reg.example')).creds).toBeUndefined()
  })

  it('gives nothing, saying so, for no entry, an empty entry or a file that is not JSON', async () => {
    const none = await lookup({ auths: { 'r.example': {} } }, 'r.example')
    expect(none.creds).toBeUndefined()
    expect(none.debug).toEqual([expect.stringContaining('no credentials for r.example')])
    expect((await lookup('{not json', 'r.example')).debug[0]).toMatch(/is not JSON/)
  })
})

describe('helpers', () => {
  it('runs the credHelpers entry with the argument `get` and the server on stdin, before credsStore and auths', async () => {
    const r = await lookup(
      { credHelpers: { 'r.example': 'first' }, credsStore: 'store', auths: { 'r.example': { auth: b64('file:pw') } } },
      'r.example'
    )
    expect(r.creds).toEqual({ username: 'from-first', password: 'first-secret' })
    expect(r.calls).toEqual(['first 1 get|r.example'])
  })

  it('runs credsStore when no credHelpers entry names the registry, with Docker Hub’s key on stdin', async () => {
    const r = await lookup({ credHelpers: { 'other.example': 'first' }, credsStore: 'store' }, 'docker.io')
    expect(r.creds).toEqual({ username: 'from-store', password: 'store-secret' })
    expect(r.calls).toEqual(['store 1 get|https://index.docker.io/v1/'])
  })

  it('takes a `<token>` user as an identity token', async () => {
    expect((await lookup({ credsStore: 'token' }, 'r.example')).creds).toEqual({ identityToken: 'refresh-me' })
  })

  it.each([
    ['missing', 'could not be run'],
    ['empty', 'has nothing for r.example (exit 1: credentials not found in native keychain)'],
    ['garbled', 'did not answer with JSON']
  ])('a helper that is %s: the auths entry, else anonymous, with a debug line', async (name, why) => {
    const withEntry = await lookup({ credsStore: name, auths: { 'r.example': { auth: b64('file:pw') } } }, 'r.example')
    expect(withEntry.creds).toEqual({ username: 'file', password: 'pw' })
    expect(withEntry.debug[0]).toContain(why)
    const without = await lookup({ credsStore: name }, 'r.example')
    expect(without.creds).toBeUndefined()
    expect(without.debug).toEqual([expect.stringContaining(why), expect.stringContaining('trying it anonymously')])
  })

  it('never runs a helper whose name is not a plain word', async () => {
    fs.writeFileSync(path.join(bin, 'docker-credential-x y'), `#!/bin/sh\necho ran >> '${calls}'\n`, { mode: 0o755 })
    for (const name of ['../../bin/sh', 'x y', '$(touch pwned)', '-v', 42]) {
      const r = await lookup({ credsStore: name }, 'r.example')
      expect(r.calls).toEqual([])
      expect(r.debug[0]).toMatch(/not a plain word/)
    }
  })
})

describe('validHelperName', () => {
  it.each(['ecr-login', 'desktop.exe', 'pass', 'osxkeychain', 'gcloud', 'acr_env', 'secretservice'])('%s is one', name => {
    expect(validHelperName(name)).toBe(true)
  })
  it.each(['', '.hidden', 'a..b', 'a/b', '../x', 'x y', 'x;y', '$(id)', '-rf', 'ends.', 'x'.repeat(65), 42, null])(
    '%j is not',
    name => {
      expect(validHelperName(name)).toBe(false)
    }
  )
})

describe('configFile', () => {
  it('is $DOCKER_CONFIG/config.json, else ~/.docker/config.json', () => {
    expect(configFile({ DOCKER_CONFIG: '/x/y' })).toBe('/x/y/config.json')
    expect(configFile({})).toBe(path.join(os.homedir(), '.docker', 'config.json'))
  })
})
