import { afterAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { engineElsewhere, engineEndpoint, isEndpoint } from '../../src/engine/endpoint.js'

const config = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-config-'))
afterAll(() => fs.rmSync(config, { recursive: true, force: true }))
const none = path.join(config, 'none')

describe('where the engine is, from the CLI settings', () => {
  it.each([
    ['nothing set: the local socket', {}, undefined],
    ['the usual socket, spelt out', { DOCKER_HOST: 'unix:///var/run/docker.sock' }, undefined],
    ['TCP', { DOCKER_HOST: 'tcp://localhost:2375' }, 'DOCKER_HOST is tcp://localhost:2375'],
    ['SSH, without its user', { DOCKER_HOST: 'ssh://ci@builder.example' }, 'DOCKER_HOST is ssh://builder.example'],
    ["another socket (a sidecar's)", { DOCKER_HOST: 'unix:///dind/docker.sock' }, 'DOCKER_HOST is unix:///dind/docker.sock'],
    [
      'a context it cannot resolve',
      { DOCKER_CONTEXT: 'remote' },
      'the docker context remote points at an engine this step cannot tell'
    ],
    ['the default context', { DOCKER_CONTEXT: 'default' }, undefined]
  ])('%s', (_, env, expected) => {
    expect(engineElsewhere({ DOCKER_CONFIG: none, ...env })).toBe(expected)
  })

  it("the context the CLI's config names, unless DOCKER_HOST overrides it", () => {
    fs.writeFileSync(path.join(config, 'config.json'), JSON.stringify({ currentContext: 'arc' }))
    expect(engineElsewhere({ DOCKER_CONFIG: config })).toBe('the docker context arc points at an engine this step cannot tell')
    expect(engineElsewhere({ DOCKER_CONFIG: config, DOCKER_HOST: 'unix:///var/run/docker.sock' })).toBeUndefined()
  })
})

describe("a context's own address", () => {
  const meta = (name: string, host: string): void => {
    const id = createHash('sha256').update(name).digest('hex')
    fs.mkdirSync(path.join(config, 'contexts', 'meta', id), { recursive: true })
    fs.writeFileSync(
      path.join(config, 'contexts', 'meta', id, 'meta.json'),
      JSON.stringify({ Name: name, Endpoints: { docker: { Host: host, SkipTLSVerify: false } } })
    )
  }
  it('one made for buildx on the local socket is still local', () => {
    meta('builders', 'unix:///var/run/docker.sock')
    expect(engineElsewhere({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'builders' })).toBeUndefined()
  })
  it('one on another machine is not', () => {
    meta('remote', 'ssh://builder.example')
    expect(engineElsewhere({ DOCKER_CONFIG: config, DOCKER_CONTEXT: 'remote' })).toBe(
      'the docker context remote points at ssh://builder.example'
    )
  })
})

describe('the endpoint main saves for post', () => {
  it('is DOCKER_HOST when set, else the context in force, else the default one', () => {
    expect(engineEndpoint({ DOCKER_CONFIG: none, DOCKER_HOST: 'ssh://ci@builder', DOCKER_CONTEXT: 'x' })).toEqual({
      host: 'ssh://ci@builder'
    })
    expect(engineEndpoint({ DOCKER_CONFIG: none, DOCKER_CONTEXT: 'remote' })).toEqual({ context: 'remote' })
    expect(engineEndpoint({ DOCKER_CONFIG: none })).toEqual({ context: 'default' })
    fs.writeFileSync(path.join(config, 'config.json'), JSON.stringify({ currentContext: 'arc' }))
    expect(engineEndpoint({ DOCKER_CONFIG: config })).toEqual({ context: 'arc' })
  })

  it('is taken back only in a shape the CLI accepts', () => {
    expect(isEndpoint({ host: 'unix:///var/run/docker.sock' })).toBe(true)
    expect(isEndpoint({ context: 'default' })).toBe(true)
    for (const bad of [
      {},
      { host: 'x' },
      { host: 'tcp://a b' },
      { context: '-x' },
      { context: 'a/b' },
      { host: 'tcp://a', context: 'b' },
      []
    ])
      expect(isEndpoint(bad)).toBe(false)
  })
})
