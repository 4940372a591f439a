/**
 * The pipeline: inputs -> host -> acquire -> register -> verify -> report. Each stage is a module with
 * a small interface; this file only runs them in order, one log group each. Main throws; post only warns.
 */
import * as core from '@actions/core'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { createSource } from './acquire/index.js'
import { workDir as workDirFor, type EarlyProbes } from './early.js'
import type { CachedEmulators, Emulators } from './acquire/source.js'
import { Docker } from './engine/docker.js'
import { inspectHost } from './host/inspect.js'
import { readInputs, type Inputs } from './inputs/inputs.js'
import { isPinned } from './inputs/validate.js'
import { PLATFORMS, emulatorName, entryName, type Platform } from './platforms.js'
import { HelperRegistrar } from './register/helper.js'
import { changesFor, decide, needsEmulators, type Decision } from './register/plan.js'
import type { ChangeResult } from './register/registrar.js'
import { outputsFor, reportFailures, setOutputs, writeSummary } from './report/report.js'
import { whatChanged } from './post/cleanup.js'
import { markMainRan, saveCleanup } from './state.js'
import { verify } from './verify/verify.js'

/** The platforms to set up: those named, or for `all` every one the source has but the native ones. */
function requestedPlatforms(
  inputs: Inputs,
  emulators: Emulators | CachedEmulators | undefined,
  native: readonly Platform[]
): Platform[] | undefined {
  if (inputs.platforms !== 'all') return inputs.platforms
  // a cache entry that holds only some emulators cannot say what `all` is
  if (!emulators || ('complete' in emulators && !emulators.complete)) return undefined
  return PLATFORMS.filter(p => emulators.has.has(p.arch) && !native.includes(p))
}

export async function run(early?: EarlyProbes): Promise<void> {
  const workDir = workDirFor()
  try {
    markMainRan()
    const inputs = await core.group('Inputs', async () => {
      const i = readInputs()
      core.info(`platforms: ${i.platforms === 'all' ? 'all' : i.platforms.map(p => p.platforms[0]).join(', ')}`)
      core.info(`source: ${i.source}`)
      if (!isPinned(i.helperImage)) {
        core.warning(`helper-image ${i.helperImage} is not pinned by digest, and it runs with SYS_ADMIN: pin it as name:tag@sha256:<digest>.`)
      }
      return i
    })
    const docker = new Docker(inputs.timeout)
    const source = createSource(inputs, docker, workDir)
    const registrar = new HelperRegistrar(docker, inputs.helperImage, inputs.privileged)
    await fs.mkdir(workDir, { recursive: true })

    const host = await core.group('Host', async () => {
      // the early probes answer for this request only if they were started for the same one
      const same = early && JSON.stringify(early.requested) === JSON.stringify(inputs.platforms)
      const h = await inspectHost(path.join(workDir, 'probes'), inputs.platforms, same ? early.probing : undefined)
      if (h.mount.mountedNow) core.info(`mounted binfmt_misc (${h.mount.how}); it stays mounted so the entries outlive the helper`)
      core.info(`native: ${h.native.flatMap(p => p.platforms).join(', ')}`)
      const qemu = [...h.entries.keys()].filter(n => n.startsWith('qemu-'))
      core.info(`binfmt_misc entries now: ${qemu.length ? qemu.join(', ') : 'no qemu-* entries'}`)
      if (inputs.platforms !== 'all') {
        for (const p of inputs.platforms.filter(q => h.native.includes(q))) {
          core.notice(`${p.platforms.join(', ')} runs natively on this host: nothing to register for it`)
        }
      }
      return h
    })

    // The plan needs the emulators only to know what `all` means and where entries point;
    // when everything asked for already works, nothing is fetched and no container runs.
    let emulators: Emulators | undefined = await source.cached()
    const interpreterFor = (e: Emulators) => (p: Platform) =>
      path.posix.join(registrar.interpreterDir(e.key, e.dir), emulatorName(p))
    const plan = (requested: Platform[]): Decision[] =>
      decide({
        requested,
        native: host.native,
        entries: host.entries,
        before: host.before,
        has: emulators?.has,
        reset: inputs.reset,
        interpreter: emulators && interpreterFor(emulators)
      })
    let requested = requestedPlatforms(inputs, emulators, host.native)
    let decisions = requested && plan(requested)

    if (!decisions || decisions.some(needsEmulators)) {
      emulators = await core.group('Acquire', async () => {
        const wanted = inputs.platforms === 'all' || !decisions ? 'all' : decisions.filter(needsEmulators).map(d => d.platform)
        // the helper image is pulled while the emulators are fetched; its failure is reported by Register
        const helperReady = registrar.prepare().catch(() => undefined)
        const [e] = await Promise.all([source.acquire(wanted), helperReady])
        core.info(`emulators from ${e.origin}: ${e.from}`)
        core.info(`has: ${[...e.has].join(', ')}${e.version ? ` (QEMU ${e.version})` : ''}`)
        return e
      })
      requested = requestedPlatforms(inputs, emulators, host.native) ?? []
      decisions = plan(requested)
    } else {
      core.info('every requested platform already works: nothing to fetch')
    }
    const finalDecisions = decisions ?? []

    const writes = await core.group('Register', async () => {
      for (const d of finalDecisions) core.info(`${d.platform.platforms[0]}: ${d.action} (${d.reason})`)
      const e = emulators
      const changes = changesFor(finalDecisions, host.entries, inputs.reset, p => {
        // unreachable: a platform to add made Acquire run
        if (!e) throw new Error(`no emulators to register ${p.platforms[0]} with`)
        return interpreterFor(e)(p)
      })
      if (changes.length === 0) {
        core.info('nothing to register')
        return []
      }
      const mounts = e ? [{ host: e.dir, target: registrar.interpreterDir(e.key, e.dir) }] : []
      const results = await registrar.apply(changes, host.native, mounts)
      for (const r of results) core.info(`${r.change.op} ${r.change.name}: ${r.status}${r.error ? ` (${r.error})` : ''}`)
      return results
    })

    if (inputs.cleanup) {
      saveCleanup({
        ...whatChanged(writes, host.entries),
        interpreterDir: emulators ? registrar.interpreterDir(emulators.key, emulators.dir) : '',
        native: host.native.map(p => p.arch),
        helperImage: inputs.helperImage,
        privilege: inputs.privileged,
        mode: registrar.mode,
        timeout: inputs.timeout
      })
    }

    const verdicts = await core.group('Verify', async () => {
      // with nothing written, the probes just run are still the truth: no need to run them again
      const unchanged = writes.length ? undefined : { results: host.before, entries: host.entries }
      const v = await verify(finalDecisions, host.probes, workDir, writeErrorsByArch(writes), unchanged)
      for (const x of v) core.info(`${x.platform.platforms[0]}: ${x.ok ? 'ok' : 'FAILED'} (${x.ok ? x.how : x.reason})`)
      return v
    })

    await core.group('Report', async () => {
      const outputs = outputsFor(verdicts, host.native, emulators?.version)
      setOutputs(outputs)
      core.info(`platforms=${outputs.platforms}`)
      core.info(`emulated=${outputs.emulated}`)
      if (outputs.failed) core.info(`failed=${outputs.failed}`)
      reportFailures(verdicts)
      if (process.env.GITHUB_STEP_SUMMARY) {
        await writeSummary(verdicts, finalDecisions, host.native, outputs, emulators, writes.length ? registrar.method : undefined)
      }
    })

    const failed = verdicts.filter(v => !v.ok)
    if (failed.length > 0) {
      core.setFailed(
        `${failed.length} of ${verdicts.length} requested platforms do not work: ` +
          failed.map(v => v.platform.platforms[0]).join(', ') + '. The others are set up and in the platforms output.'
      )
    }
  } catch (err) {
    core.setFailed((err as Error).message)
  } finally {
    await fs.rm(workDir, { recursive: true, force: true })
  }
}

function writeErrorsByArch(results: readonly ChangeResult[]): Map<string, string> {
  const errors = new Map<string, string>()
  for (const r of results) {
    const p = PLATFORMS.find(q => entryName(q) === r.change.name)
    if (p && r.status === 'failed') errors.set(p.arch, r.error ?? 'failed')
  }
  return errors
}
