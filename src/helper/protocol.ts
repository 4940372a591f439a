/**
 * What the helper container runs and what it answers: one fixed script that takes every value as an
 * argument, and the one parser of its output.
 */
import { parseEntry, type Entry } from '../binfmt/entry.js'
import { fingerprint } from '../binfmt/table.js'
import type { Look } from '../host/engine-view.js'
import { PROBE_TIMEOUT_MS, fromStatus, type ProbeResult } from '../probe/run.js'
import type { ChangeResult } from '../binfmt/change.js'

/** How long a probe may run in the helper: as long as on the host. */
const PROBE_SECONDS = PROBE_TIMEOUT_MS / 1000

/**
 * Runs every probe (the arguments) at once, each killed after `seconds` where the image's timeout takes
 * these arguments (busybox since 1.30, coreutils), which `limit` then says: one emulator that hangs
 * costs that long, named, not the container's whole time limit.
 */
export const probeAll = (seconds: number): string => `if timeout -s KILL 1 true >/dev/null 2>&1; then
  echo "limit ${seconds}"
  bounded() { timeout -s KILL ${seconds} "$@"; }
else bounded() { "$@"; }; fi
for p in "$@"; do ( bounded "$p" </dev/null >/dev/null 2>&1; echo "probe $? $p" ) & done
wait`

// Fixed text: every value reaches it as an argument, never as code. The first argument says what comes on
// stdin: nothing (-), files (`stream`: a tar stream, extracted from /), or the work (`wait`: the other
// arguments, one a line, sent once known, so the container can start before). The second says what to
// do, and the third which kernel it must find (its boot id; empty: any), which every verb prints: on
// another kernel it stops there, having read and written nothing. `write`: each change is three
// arguments (op, name, line or directory), answered by one line `<status> <number> [error]`.
// `look`: the table (names and contents as hex, read before and after the probes), the probes' exit
// statuses (each probe with a time limit of its own) and the kernel's machine. Both end with `done`.
const SCRIPT = `
b=/binfmt_misc
mkdir -p "$b"
if ! err=$(mount -t binfmt_misc binfmt_misc "$b" 2>&1); then echo "mountfail $err"; exit 3; fi
if [ "$1" = stream ]; then
  command -v tar >/dev/null 2>&1 || { echo notar; exit 4; }
  if ! err=$(tar -xf - -C / 2>&1); then echo "untarfail $err"; exit 5; fi
fi
if [ "$1" = wait ]; then
  shift
  while IFS= read -r a; do set -- "$@" "$a"; done
  set -- wait "$@"
fi
verb=$2; want=$3; shift 3
echo ready
boot=$(cat /proc/sys/kernel/random/boot_id)
echo "boot $boot"
if [ -n "$want" ] && [ "$want" != "$boot" ]; then echo otherkernel; exit 7; fi
if [ "$verb" = look ]; then
  command -v od >/dev/null 2>&1 || { echo "nood"; exit 6; }
  hex() { od -An -v -tx1 | tr -d ' \\n'; }
  dump() {
    for f in "$b"/* "$b"/.[!.]*; do
      [ -e "$f" ] || continue
      n=\${f##*/}
      case $n in register|status) continue ;; esac
      echo "$1 $(printf '%s' "$n" | hex) $(hex <"$f")"
    done
  }
  echo "status $(cat "$b/status")"
  echo "machine $(uname -m)"
  dump before
${probeAll(PROBE_SECONDS)}
  dump after
  echo done
  exit 0
fi
points_into() { while read -r k v; do [ "$k" = interpreter ] && case $v in "$2"/*) return 0 ;; esac; done <"$1"; return 1; }
i=0
while [ $# -ge 3 ]; do
  op=$1; name=$2; arg=$3; shift 3; i=$((i + 1))
  if [ "$op" = remove ]; then
    if [ ! -e "$b/$name" ]; then echo "gone $i"
    elif [ -n "$arg" ] && ! points_into "$b/$name" "$arg"; then echo "changed $i"
    elif err=$( (echo -1 >"$b/$name") 2>&1 ); then echo "ok $i"
    else echo "failed $i $err"; fi
  elif err=$( (printf '%s' "$arg" >"$b/register") 2>&1 ); then
    [ "$op" = add-disabled ] && echo 0 >"$b/$name"
    echo "ok $i"
  elif [ -e "$b/$name" ]; then echo "exists $i"
  else echo "failed $i $err"; fi
done
echo done
`

/** The work is over: the container's removal, which `--rm` makes the CLI wait for, goes on while the action does. */
export const DONE = /^done$/m

/** Where probes are put inside a helper that looks at the table for this process. */
export const PROBE_DIR = '/run/setup-qemu-probes'

/** What a helper reads on stdin: nothing, files (a tar stream), or its work, sent once known. */
export type Stdin = 'none' | 'files' | 'work'
const STDIN_ARG: Record<Stdin, string> = { none: '-', files: 'stream', work: 'wait' }

/** What follows the image in `docker run`: the script, run by sh, told what comes on its stdin. */
export const scriptArgs = (stdin: Stdin): string[] => ['-c', SCRIPT, 'sh', STDIN_ARG[stdin]]

/** A verb's arguments: the verb, the kernel it must find ('' for any), then its own. */
export const verbArgs = (verb: 'look' | 'write', kernel: string | undefined, rest: readonly string[]): string[] => [
  verb,
  kernel ?? '',
  ...rest
]

/** A helper's work as it reads it on stdin: one argument a line. */
export function workLines(args: readonly string[]): Buffer {
  if (args.some(a => /[\n\0]/.test(a))) throw new Error('a helper argument cannot hold a newline or a NUL')
  return Buffer.from(args.map(a => `${a}\n`).join(''))
}

/** One change's answer: its status, and the error where it failed. */
export interface Answer {
  status: ChangeResult['status']
  error?: string
}

/** Everything a helper said, line by line. */
export interface HelperOutput {
  /** the script got far enough to answer: only a helper that did not can have been refused privilege */
  answered: boolean
  /** it reached its work (`ready`) */
  ready: boolean
  /** it said which kernel it runs on (`boot`), and that kernel's boot id ('' when it did not get that far) */
  booted: boolean
  kernel: string
  /** it found another kernel than the one it was told to, and stopped before reading or writing */
  otherKernel: boolean
  /** what stopped it before its work: binfmt_misc would not mount, no tar, a stream it could not unpack, no od */
  mountFail?: string
  noTar: boolean
  untarFail?: string
  noOd: boolean
  /** `write`: each change's answer, by position */
  answers: Map<number, Answer>
  /** `look`: entry names and texts arrive as hex, so no byte of them can be misread */
  look: Look
}

/** The lines that are a word alone, and what each says. */
const WORDS = { ready: 'ready', otherkernel: 'otherKernel', notar: 'noTar', nood: 'noOd' } as const

const fromHex = (hex: string): string => Buffer.from(hex, 'hex').toString()

/** What a probe's status in the helper says: killed (128 + 9) where it had a limit is timed out. */
const probeResult = (status: number, limit: number | undefined): ProbeResult =>
  limit && status === 137
    ? { ok: false, error: 'timed out', detail: `after ${limit} s in the helper container` }
    : fromStatus(status)

/** The helper's output, parsed: the one reader of what the script prints. */
export function parseOutput(stdout: string): HelperOutput {
  const tables: Record<string, Map<string, Entry>> = { before: new Map(), after: new Map() }
  const look: Look = { entries: tables.before, changed: false, enabled: false, bootId: '', machine: '', results: new Map() }
  const out: HelperOutput = {
    answered: false,
    ready: false,
    booted: false,
    kernel: '',
    otherKernel: false,
    noTar: false,
    noOd: false,
    answers: new Map(),
    look
  }
  let limit: number | undefined
  for (const line of stdout.split('\n')) {
    if (/^(ready|(ok|exists|gone|changed|failed) \d+)/.test(line)) out.answered = true
    if (Object.hasOwn(WORDS, line)) out[WORDS[line as keyof typeof WORDS]] = true
    const answer = /^(ok|exists|gone|changed|failed) (\d+)(?: (.*))?$/.exec(line)
    const status = answer?.[1] as Answer['status']
    if (answer)
      out.answers.set(Number(answer[2]) - 1, { status, ...(status === 'failed' ? { error: answer[3] || 'write refused' } : {}) })
    const failed = /^(mountfail|untarfail) (.*)$/.exec(line)
    if (failed) out[failed[1] === 'mountfail' ? 'mountFail' : 'untarFail'] ??= failed[2]
    if (!out.booted && line.startsWith('boot ')) out.booted = true
    if (!out.kernel) out.kernel = /^boot (\S+)$/.exec(line)?.[1] ?? ''
    const [key, a = '', b = ''] = line.split(' ')
    if ((key === 'before' || key === 'after') && /^[0-9a-f]*$/.test(a + b)) {
      const name = fromHex(a)
      tables[key].set(name, parseEntry(name, fromHex(b)))
    } else if (key === 'status') look.enabled = a === 'enabled'
    else if (key === 'boot') look.bootId = a
    else if (key === 'machine') look.machine = a
    else if (key === 'limit') limit = Number(a)
    else if (key === 'probe' && b.startsWith(`${PROBE_DIR}/probe-`)) {
      look.results.set(b.slice(`${PROBE_DIR}/probe-`.length), probeResult(Number(a), limit))
    }
  }
  look.changed = fingerprint(tables.before) !== fingerprint(tables.after)
  return out
}
