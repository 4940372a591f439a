/**
 * The sources end to end, without an engine or the network: the image source against a stand-in
 * `docker` that logs its calls, the download source against a loopback HTTP server.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { actionsCacheStandIn } from './actions-cache-standin.js'
import { DownloadSource } from '../../src/acquire/download.js'
import { ImageSource, type ImageOptions } from '../../src/acquire/image.js'
import type { ImageRegistry } from '../../src/acquire/image-pull.js'
import { RegistryError } from '../../src/acquire/registry/index.js'
import { CONTAINER_LABEL } from '../../src/constants.js'
import { Docker } from '../../src/engine/docker.js'
import { PLATFORMS, byArch, type Platform } from '../../src/platform/platforms.js'
import { fromNodeArch } from '../../src/platform/arch.js'
import { buildProbe } from '../../src/platform/elf.js'
import { captureOutput } from '../helpers/output.js'
import { freshToolCache, tempDirs } from '../helpers/tmp.js'
import { settled } from '../helpers/settled.js'

const host = fromNodeArch(process.arch) as Platform
const foreign = PLATFORMS.find(p => p.family !== host.family) as Platform
const tmp = tempDirs()
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const hostElf = (seed: number): Buffer => Buffer.concat([buildProbe(host), Buffer.alloc(4096, seed)])

/** Everything the toolkit writes to stdout (log lines and workflow commands) during a test. */
const output = captureOutput()

const dirs = freshToolCache(tmp)

describe('source image', () => {
  /** A stand-in engine: one local image, a container store of one, every call logged. */
  function fakeDocker(localPlatform?: string): { docker: Docker; calls: () => string[][]; root: string; state: string } {
    const dir = tmp('docker')
    const root = path.join(dir, 'root')
    const state = path.join(dir, 'state')
    fs.mkdirSync(path.join(root, 'usr/bin'), { recursive: true })
    fs.mkdirSync(state)
    if (localPlatform) fs.writeFileSync(path.join(state, 'image'), `${localPlatform}\n`)
    const bin = path.join(dir, 'docker')
    fs.writeFileSync(
      bin,
      `#!/bin/sh
for a in "$@"; do printf '%s\\037' "$a"; done >>"${dir}/calls"; echo >>"${dir}/calls"
case "$1" in
  info) echo '["name=seccomp,profile=builtin"]' ;;
  image) [ -f "${state}/image" ] || { echo "Error: No such image: $5" >&2; exit 1; }
         echo "sha256:${'7'.repeat(64)} $(cat "${state}/image")" ;;
  pull) p=linux/unknown; [ "$3" = --platform ] && p=$4; echo "$p" >"${state}/image" ;;
  create) touch "${state}/container"; echo 0123abcd ;;
  cp) cp -a "${root}/usr/bin/." "$3" ;;
  rm) rm -f "${state}/container" ;;
esac
`,
      { mode: 0o755 }
    )
    const calls = (): string[][] =>
      fs.existsSync(path.join(dir, 'calls'))
        ? fs
            .readFileSync(path.join(dir, 'calls'), 'utf8')
            .split('\n')
            .filter(Boolean)
            .map(l => l.split('\x1f').slice(0, -1))
        : []
    return { docker: new Docker(30, bin), calls, root, state }
  }

  const ref = `registry.example/binfmt:x@sha256:${'ab'.repeat(32)}`
  /** A registry that refuses the API (as one behind an engine-only mirror may): the engine pulls instead. */
  const refusing = (): ImageRegistry => ({
    resolve: async () => Promise.reject(new RegistryError('refused', 'test: no registry API here')),
    pull: async () => Promise.reject(new RegistryError('refused', 'test: no registry API here')),
    close: () => undefined
  })
  const options = (useCache: boolean): ImageOptions => ({ useCache, workDir: dirs.workDir, timeout: 30, registry: refusing })

  it('keeps only ELF executables for this host, and says what each other file is', async () => {
    const d = fakeDocker()
    const bin = path.join(d.root, 'usr/bin')
    fs.writeFileSync(path.join(bin, 'qemu-aarch64'), hostElf(1), { mode: 0o755 })
    fs.writeFileSync(path.join(bin, 'qemu-s390x'), buildProbe(foreign), { mode: 0o755 })
    fs.writeFileSync(path.join(bin, 'qemu-riscv64'), '#!/bin/sh\nexit 42\n', { mode: 0o755 })
    const e = await settled(new ImageSource(ref, d.docker, options(true)).acquire('all'))
    expect([...e.archs]).toEqual(['arm64'])
    expect(fs.readdirSync(e.dir)).toEqual(['qemu-aarch64'])
    expect(output.text).toContain(`::warning::qemu-s390x is an ELF for ${foreign.cpu}, not for this ${host.cpu} host`)
    expect(output.text).toContain('::warning::qemu-riscv64 is not an ELF file')
  })

  it("pulls and creates for this host's platform, so a local copy for another platform is not used", async () => {
    const d = fakeDocker(foreign.platforms[0])
    fs.writeFileSync(path.join(d.root, 'usr/bin/qemu-aarch64'), hostElf(1), { mode: 0o755 })
    await settled(new ImageSource(ref, d.docker, options(false)).acquire('all'))
    expect(output.text).toContain(
      `${ref} could not be fetched over the registry API (test: no registry API here): the Docker engine pulls it instead`
    )
    const pull = d.calls().find(c => c[0] === 'pull')
    const create = d.calls().find(c => c[0] === 'create')
    expect(pull).toEqual(['pull', '--quiet', '--platform', host.platforms[0], ref])
    expect(create?.slice(create.indexOf('--platform'), create.indexOf('--platform') + 2)).toEqual([
      '--platform',
      host.platforms[0]
    ])
  })

  it('labels the container it copies from, and removes it with its volumes, even when the copy fails', async () => {
    const d = fakeDocker(host.platforms[0])
    fs.writeFileSync(path.join(d.root, 'usr/bin/qemu-aarch64'), hostElf(1), { mode: 0o755 })
    await settled(new ImageSource(ref, d.docker, options(false)).acquire('all'))
    const create = d.calls().find(c => c[0] === 'create') as string[]
    const label = create[create.indexOf('--label') + 1]
    expect(label).toMatch(new RegExp(`^${CONTAINER_LABEL.replaceAll('.', '\\.')}=\\S+$`))
    expect(d.calls().find(c => c[0] === 'rm')).toEqual(['rm', '--force', '--volumes', '0123abcd'])
    expect(fs.existsSync(path.join(d.state, 'container'))).toBe(false)

    // the copy fails: the container goes all the same
    fs.rmSync(path.join(d.root, 'usr'), { recursive: true })
    await expect(d.docker.copyOut(ref, '/usr/bin', tmp('to'), host.platforms[0])).rejects.toThrow(
      /could not copy \/usr\/bin out of/
    )
    expect(
      d
        .calls()
        .filter(c => c[0] === 'rm')
        .at(-1)
    ).toEqual(['rm', '--force', '--volumes', '0123abcd'])
    expect(fs.existsSync(path.join(d.state, 'container'))).toBe(false)
  })

  it('serves a later run from a snapshot of the cache, with no engine and only what it asked for', async () => {
    const d = fakeDocker(host.platforms[0])
    for (const cpu of ['aarch64', 's390x'])
      fs.writeFileSync(path.join(d.root, `usr/bin/qemu-${cpu}`), hostElf(1), { mode: 0o755 })
    await settled(new ImageSource(ref, d.docker, options(true)).acquire('all'))
    const before = d.calls().length
    const later = new ImageSource(ref, d.docker, options(true))
    // looked up once: planning (started early) and acquire share the answer
    const lookup = later.cached()
    expect(later.cached()).toBe(lookup)
    expect((await lookup)?.complete).toBe(true)
    const e = await settled(later.acquire([byArch('s390x')]))
    expect(d.calls().length).toBe(before)
    expect(e.origin).toBe('tool cache')
    expect(path.dirname(e.dir)).toBe(dirs.workDir)
    expect([...e.archs]).toEqual(['s390x'])
  })
})

describe('source download', () => {
  let server: http.Server
  let base: string
  const files = new Map<string, Buffer>()
  const requests: string[] = []
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests.push(req.url ?? '')
      const body = files.get((req.url ?? '').replace(/\?.*/, ''))
      res.writeHead(body ? 200 : 404).end(body)
    })
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>(r => server.close(() => r())))

  /** A tarball of the given members, in order, each from its own directory (so a name may repeat). */
  function tarball(name: string, members: Array<[string, Buffer]>): { path: string; sha256: string } {
    const dir = tmp('tar')
    const args = ['-czf', path.join(dir, 't.tar.gz')]
    members.forEach(([member, body], i) => {
      const d = path.join(dir, String(i))
      fs.mkdirSync(d)
      fs.writeFileSync(path.join(d, member.replace(/^\.\//, '')), body, { mode: 0o755 })
      args.push('-C', d, member)
    })
    execFileSync('tar', args)
    const body = fs.readFileSync(path.join(dir, 't.tar.gz'))
    files.set(`/${name}`, body)
    return { path: `/${name}`, sha256: sha(body) }
  }

  it('extracts a tarball that names a member twice, or in two forms, taking one of each deterministically', async () => {
    const t = tarball('dup.tar.gz', [
      ['qemu-aarch64', hostElf(1)],
      ['qemu-aarch64', hostElf(2)],
      ['./qemu-s390x', hostElf(3)],
      ['qemu-s390x', hostElf(4)],
      ['qemu-riscv64-static', hostElf(5)],
      ['qemu-riscv64', hostElf(6)]
    ])
    const e = await settled(
      new DownloadSource({ url: `${base}${t.path}`, sha256: t.sha256 }, false, dirs.workDir, 30).acquire('all')
    )
    expect([...e.archs].sort()).toEqual(['arm64', 'riscv64', 's390x'])
    const body = (cpu: string): string => sha(fs.readFileSync(path.join(e.dir, `qemu-${cpu}`)))
    expect(body('aarch64')).toBe(sha(hostElf(2))) // the same member twice: tar keeps the last
    expect(body('s390x')).toBe(sha(hostElf(4))) // `qemu-x` before `./qemu-x`
    expect(body('riscv64')).toBe(sha(hostElf(6))) // `qemu-x` before `qemu-x-static`
  })

  it('drops emulators built for another machine from a tarball, before caching', async () => {
    const t = tarball('arch.tar.gz', [
      ['qemu-aarch64', hostElf(1)],
      ['qemu-s390x', buildProbe(foreign)]
    ])
    const e = await settled(
      new DownloadSource({ url: `${base}${t.path}`, sha256: t.sha256 }, true, dirs.workDir, 30).acquire('all')
    )
    expect([...e.archs]).toEqual(['arm64'])
    expect(output.text).toContain(`::warning::qemu-s390x is an ELF for ${foreign.cpu}, not for this ${host.cpu} host`)
    const meta = fs.readFileSync(
      path.join(process.env.RUNNER_TOOL_CACHE as string, 'setup-qemu', `0.0.0-k${t.sha256}`, os.arch(), 'setup-qemu.json'),
      'utf8'
    )
    expect(meta).not.toContain('qemu-s390x')
  })

  it('never stores or shows the credentials, query or fragment of download-url; only the download uses them', async () => {
    const t = tarball('secret.tar.gz', [['qemu-aarch64', hostElf(1)]])
    const url = `http://ci:s3cr3t-pass@${base.slice(7)}${t.path}?token=t0ken-value#frag`
    const clean = `${base}${t.path}`
    const source = new DownloadSource({ url, sha256: t.sha256 }, true, dirs.workDir, 30)
    expect(source.from).toBe(clean)
    const e = await settled(source.acquire('all'))
    expect(requests.at(-1)).toBe(`${t.path}?token=t0ken-value`) // the real URL was used to download
    expect(e.from).toBe(clean) // what the summary shows
    const hit = await settled(new DownloadSource({ url, sha256: t.sha256 }, true, dirs.workDir, 30).acquire('all'))
    expect(hit.origin).toBe('tool cache')
    expect(hit.from).toBe(clean)

    const everyFile = (
      fs.readdirSync(process.env.RUNNER_TOOL_CACHE as string, { recursive: true, withFileTypes: true }) as fs.Dirent[]
    )
      .filter(f => f.isFile())
      .map(f => fs.readFileSync(path.join(f.parentPath, f.name), 'latin1'))
    expect(everyFile.length).toBeGreaterThan(0)
    expect(everyFile.filter(text => /s3cr3t|t0ken/.test(text))).toEqual([])
    // the log as the runner shows it: the masking commands are consumed, and what they name is masked
    // (the toolkit's own debug lines print the URL it is given)
    const masks = output.text
      .split('\n')
      .filter(l => l.startsWith('::add-mask::'))
      .map(l => l.slice('::add-mask::'.length))
    expect(masks).toEqual(expect.arrayContaining(['s3cr3t-pass', 'token=t0ken-value']))
    const shown = masks.reduce(
      (text, m) => text.replaceAll(m, '***'),
      output.text
        .split('\n')
        .filter(l => !l.startsWith('::add-mask::'))
        .join('\n')
    )
    expect(shown).not.toMatch(/s3cr3t|t0ken/)
    expect(output.text).toContain(`downloading ${clean}\n`)

    // nor does an error
    const wrong = new DownloadSource({ url, sha256: 'f'.repeat(64) }, false, dirs.workDir, 30)
    await expect(wrong.acquire('all')).rejects.toThrow(new RegExp(`checksum mismatch for ${clean.replaceAll('.', '\\.')}: `))
    await expect(wrong.acquire('all')).rejects.not.toThrow(/s3cr3t|t0ken/)
  })

  it('fetches again when a cached emulator does not match its recorded SHA-256, and mends the entry', async () => {
    const t = tarball('mend.tar.gz', [
      ['qemu-aarch64', hostElf(1)],
      ['qemu-s390x', hostElf(2)]
    ])
    const target = { url: `${base}${t.path}`, sha256: t.sha256 }
    await settled(new DownloadSource(target, true, dirs.workDir, 30).acquire('all'))
    const entry = path.join(process.env.RUNNER_TOOL_CACHE as string, 'setup-qemu', `0.0.0-k${t.sha256}`, os.arch())
    fs.writeFileSync(path.join(entry, 'qemu-aarch64.x'), hostElf(9), { mode: 0o755 })
    fs.renameSync(path.join(entry, 'qemu-aarch64.x'), path.join(entry, 'qemu-aarch64'))
    const fetched = requests.filter(r => r === t.path).length

    const e = await settled(new DownloadSource(target, true, dirs.workDir, 30).acquire([byArch('arm64')]))
    expect(output.text).toMatch(
      /::warning::the tool cache entry .* is ignored: qemu-aarch64 does not match the SHA-256 recorded when it was stored/
    )
    expect(requests.filter(r => r === t.path).length).toBe(fetched + 1)
    expect(e.origin).toBe('download')
    expect(sha(fs.readFileSync(path.join(e.dir, 'qemu-aarch64')))).toBe(sha(hostElf(1)))
    expect(sha(fs.readFileSync(path.join(entry, 'qemu-aarch64')))).toBe(sha(hostElf(1)))

    // only what the run needs is hashed: a damaged emulator it does not use costs nothing
    fs.writeFileSync(path.join(entry, 'qemu-s390x.x'), hostElf(9), { mode: 0o755 })
    fs.renameSync(path.join(entry, 'qemu-s390x.x'), path.join(entry, 'qemu-s390x'))
    output.text = ''
    const again = await settled(new DownloadSource(target, true, dirs.workDir, 30).acquire([byArch('arm64')]))
    expect(again.origin).toBe('tool cache')
    expect(output.text).not.toContain('::warning::')
  })

  describe('on a hosted runner, with the Actions cache', () => {
    const actions = (restored?: string): ReturnType<typeof actionsCacheStandIn> =>
      actionsCacheStandIn(() => tmp('keep'), restored)
    const entryWith = (body: Buffer): string => {
      const dir = tmp('entry')
      fs.writeFileSync(path.join(dir, 'qemu.tar.gz'), body)
      return dir
    }

    it('takes a restored tarball of the pinned SHA-256, and downloads nothing', async () => {
      const t = tarball('restored.tar.gz', [['qemu-aarch64', hostElf(1)]])
      const a = actions(entryWith(files.get(t.path) as Buffer))
      const before = requests.length
      const e = await settled(
        new DownloadSource({ url: `${base}${t.path}`, sha256: t.sha256 }, false, dirs.workDir, 30, a.cache).acquire('all')
      )
      expect(requests.length).toBe(before)
      expect([...e.archs]).toEqual(['arm64'])
      expect(output.text).toContain(`restored the tarball from the Actions cache: sha256 ${t.sha256} matches`)
      expect(a.refused).toEqual([])
    })

    it('refuses a restored tarball of other bytes, downloads the pinned one, and hands post nothing', async () => {
      const t = tarball('swapped.tar.gz', [['qemu-aarch64', hostElf(1)]])
      const other = tarball('other.tar.gz', [['qemu-aarch64', hostElf(7)]])
      const a = actions(entryWith(files.get(other.path) as Buffer))
      const e = await settled(
        new DownloadSource({ url: `${base}${t.path}`, sha256: t.sha256 }, false, dirs.workDir, 30, a.cache).acquire('all')
      )
      expect(a.refused).toEqual([`its tarball's SHA-256 is ${other.sha256}, not the pinned ${t.sha256}`])
      expect(requests.at(-1)).toBe(t.path)
      expect(sha(fs.readFileSync(path.join(e.dir, 'qemu-aarch64')))).toBe(sha(hostElf(1)))
      expect(a.kept).toEqual([])
    })

    it('keeps the downloaded tarball for post when the Actions cache lacks it', async () => {
      const t = tarball('kept.tar.gz', [['qemu-aarch64', hostElf(1)]])
      const a = actions()
      await settled(
        new DownloadSource({ url: `${base}${t.path}`, sha256: t.sha256 }, false, dirs.workDir, 30, a.cache).acquire('all')
      )
      expect(a.kept).toHaveLength(1)
      expect(sha(fs.readFileSync(path.join(a.kept[0], 'qemu.tar.gz')))).toBe(t.sha256)
    })
  })
})
