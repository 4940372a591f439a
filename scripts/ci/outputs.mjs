/** What the scripts here share: their arguments, and step outputs and workflow commands the way the runner reads them. */
import * as fs from 'node:fs'
import { randomBytes } from 'node:crypto'
import process from 'node:process'

let sink = line => process.stdout.write(line + '\n')

/** Prints a line to the step's log (tests swap the sink with setLogSink). */
export function log(line) {
  sink(String(line))
}

/** Sends the log elsewhere; returns a function that puts the previous sink back. */
export function setLogSink(fn) {
  const previous = sink
  sink = fn
  return () => {
    sink = previous
  }
}

/** Writes name=value pairs to GITHUB_OUTPUT (multi-line values with a random delimiter), or prints them. */
export function setOutputs(values, file = process.env.GITHUB_OUTPUT) {
  const lines = []
  for (const [name, raw] of Object.entries(values)) {
    const value = String(raw)
    if (value.includes('\n')) {
      const delimiter = `EOF_${randomBytes(8).toString('hex')}`
      lines.push(`${name}<<${delimiter}`, value, delimiter)
    } else {
      lines.push(`${name}=${value}`)
    }
  }
  if (file) fs.appendFileSync(file, lines.join('\n') + '\n')
  else log(lines.join('\n'))
}

/** Text from elsewhere, made safe to print: no workflow command can start inside it. */
export function escapeData(value) {
  return String(value).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

export function error(message) {
  log(`::error::${escapeData(message)}`)
}

export function warning(message) {
  log(`::warning::${escapeData(message)}`)
}

export function notice(message) {
  log(`::notice::${escapeData(message)}`)
}

/** `--name value` pairs and the words between them: { _: [words], name: value }. */
export function parseArgs(argv) {
  const out = { _: [] }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) out[argv[i].slice(2)] = argv[++i]
    else out._.push(argv[i])
  }
  return out
}
