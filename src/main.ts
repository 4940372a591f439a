/**
 * The pipeline: inputs -> host -> acquire -> register -> verify -> report. Each stage is a module with
 * a small interface; this file only runs them in order, one log group each. Main throws; post only warns.
 */
import * as core from '@actions/core'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { SOURCE_KINDS } from './acquire/index.js'
import type { ProbesInFlight } from './early.js'
import { forMain, type Registration } from './factory.js'
import { handlersOf } from './binfmt/entry.js'
import { inspectHost, protectedPlatforms, type HostState } from './host/inspect.js'
import { readInputs, type Inputs } from './inputs/inputs.js'
import * as log from './log.js'
import { PLATFORMS, type Platform } from './platform/platforms.js'
import { register } from './register/apply.js'
import { prepare, type Prepared } from './register/prepare.js'
import type { ChangeResult } from './register/registrar.js'
import { outputsFor, reportFailures, setOutputs, stepFailure, writeSummary } from './report/report.js'
import { makeScratchDir } from './scratch.js'
import { markMainRan } from './state.js'
import { alsoWorking, verify, type Verdict } from './verify/verify.js'

export async function run(inFlight?: ProbesInFlight): Promise<void> {
  const scratchDir = inFlight?.scratchDir ?? makeScratchDir()
  let stored: Promise<() => void> | undefined
  try {
    markMainRan()
    const inputs = await core.group('Inputs', async () => readAndShowInputs())
    const { source, registration } = await forMain(inputs, scratchDir)
    const { host, registrar } = await core.group('Host', async () => {
      const h = await inspect(inputs, scratchDir, registration, inFlight)
      return { host: h, registrar: registration.settle(h) }
    })
    const prepared = await prepare(inputs, host, source, registrar)
    stored = prepared.emulators?.stored
    const writes = await core.group('Register', async () => register(prepared, host, inputs, registrar))
    const verified = await core.group('Verify', async () => check(prepared, host, writes, scratchDir))
    // the tool cache's copy was written meanwhile
    ;(await stored)?.()
    stored = undefined
    const how = writes.length ? { method: registrar.method, fromRunner: registrar.kind === 'runner' } : undefined
    await core.group('Report', async () => report(verified, prepared, host, inputs, how))
  } catch (err) {
    core.setFailed(log.printable((err as Error).message))
  } finally {
    // the tool cache's copy is taken from the scratch directory
    ;(await stored)?.()
    await fs.rm(scratchDir, { recursive: true, force: true })
  }
}

function readAndShowInputs(): Inputs {
  const i = readInputs(SOURCE_KINDS)
  log.info(`platforms: ${i.platforms === 'all' ? 'all' : i.platforms.map(p => p.platforms[0]).join(', ')}`)
  log.info(`source: ${i.source}`)
  return i
}

async function inspect(
  inputs: Inputs,
  scratchDir: string,
  registration: Registration,
  inFlight?: ProbesInFlight
): Promise<HostState> {
  // the probes started early answer for this request only if they were started for the same one
  const same = inFlight && JSON.stringify(inFlight.requested) === JSON.stringify(inputs.platforms)
  const h = await inspectHost(
    path.join(scratchDir, 'probes'),
    inputs.platforms,
    same ? inFlight.probing : undefined,
    process.arch,
    registration.view
  ).catch((err: unknown) => {
    throw registration.notMounted(err)
  })
  if (h.table.where === 'engine') {
    log.info(`binfmt_misc is read and written through the engine: ${h.table.why}`)
    log.info(
      h.table.sameKernel ? "the engine runs on this runner's kernel" : 'the engine runs on another kernel than this runner'
    )
  }
  if (h.mount.mountedNow) log.info(`mounted binfmt_misc (${h.mount.how}); it stays mounted so the entries outlive the helper`)
  log.info(`native: ${h.native.flatMap(p => p.platforms).join(', ')}`)
  for (const [arch, why] of h.undecided) log.info(`linux/${arch} may be native here and is never registered: ${why}`)
  for (const p of h.native) {
    const claims = handlersOf(p, h.entries)
    if (claims.length) {
      log.warning(
        `${p.platforms[0]} runs natively here, but ${claims.map(e => e.name).join(', ')} claims its programs, so they run ` +
          'through an emulator: remove it (reset: true removes qemu-* entries)'
      )
    }
  }
  const qemu = [...h.entries.keys()].filter(n => n.startsWith('qemu-'))
  log.info(`binfmt_misc entries now: ${qemu.length ? qemu.join(', ') : 'no qemu-* entries'}`)
  if (inputs.platforms !== 'all') {
    for (const p of inputs.platforms.filter(q => h.native.includes(q))) {
      log.info(`${p.platforms.join(', ')} runs natively on this host: nothing to register for it`)
    }
  }
  return h
}

async function check(
  prepared: Prepared,
  host: HostState,
  writes: readonly ChangeResult[],
  scratchDir: string
): Promise<Verified> {
  // with nothing written, the probes just run are still the truth: no need to run them again
  const unchanged = writes.length ? undefined : { results: host.before, entries: host.entries }
  const v = await verify(prepared.decisions, host.probes, scratchDir, writes, unchanged, host.table)
  for (const x of v) log.info(`${x.platform.platforms[0]}: ${x.ok ? 'ok' : 'FAILED'} (${x.ok ? x.how : x.reason})`)
  const mayBeNative = protectedPlatforms(host)
  const unasked = PLATFORMS.filter(p => !v.some(x => x.platform === p) && !mayBeNative.includes(p))
  // through the engine, only what was asked for is probed there
  const also = host.table.where === 'engine' ? [] : await alsoWorking(unasked, host.probes, scratchDir, unchanged, host.table)
  for (const x of also) log.info(`${x.platform.platforms[0]}: ok, not asked for (${x.how})`)
  return { requested: v, also }
}

const ALIKE =
  'registered from the runner itself: the emulated platforms work for programs on this runner, in its chroots and in its containers alike'

interface Verified {
  requested: Verdict[]
  /** platforms nobody asked for that work through entries already there */
  also: Verdict[]
}

async function report(
  { requested: verdicts, also }: Verified,
  prepared: Prepared,
  host: HostState,
  inputs: Inputs,
  written?: { method: string; fromRunner: boolean }
): Promise<void> {
  const outputs = outputsFor([...verdicts, ...also], host.native, prepared.emulators?.version, host.variants)
  setOutputs(outputs)
  log.info(`platforms=${outputs.platforms}`)
  log.info(`emulated=${outputs.emulated}`)
  if (outputs.failed) log.info(`failed=${outputs.failed}`)
  // the runner's own table is the one its containers, chroots and programs all use
  if (written?.fromRunner && outputs.emulated) log.info(ALIKE)
  // a platform only `all` brought in may fail; one named in the input may not
  const named = (p: Platform): boolean => inputs.platforms !== 'all' || inputs.named.includes(p)
  reportFailures(verdicts, named)
  if (inputs.summary && process.env.GITHUB_STEP_SUMMARY) {
    const how = written && (host.table.where === 'engine' ? `${written.method}, through the engine` : written.method)
    const alike = written?.fromRunner && outputs.emulated ? ALIKE : undefined
    await writeSummary([...verdicts, ...also], prepared.decisions, host.native, outputs, prepared.emulators, how, alike)
  }
  const failure = stepFailure(verdicts, named)
  if (failure) core.setFailed(failure)
}
