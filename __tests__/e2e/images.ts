/**
 * Helper images with a fault of their own, made from the test helper image (busybox): a shell that
 * hangs, and a shell that pauses after every change it reports, so a test can stop it part-way.
 */
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { docker, env } from './host.js'

/** Makes (once) an image from the helper's files with some of them replaced; returns its local tag. */
function variant(tag: string, files: Record<string, string>): string {
  const ref = `setup-qemu-test/${tag}:e2e`
  if (docker('image', 'inspect', ref).status === 0) return ref
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'helper-variant-'))
  try {
    const id = docker('create', env.HELPER_IMAGE, 'true').stdout.trim()
    try {
      execFileSync('sh', ['-c', 'docker export "$1" | tar -x -C "$2"', 'sh', id, root])
    } finally {
      docker('rm', '--force', '--volumes', id)
    }
    for (const [file, text] of Object.entries(files)) {
      fs.rmSync(path.join(root, file), { force: true })
      fs.writeFileSync(path.join(root, file), text, { mode: 0o755 })
    }
    execFileSync('sh', ['-c', 'tar -C "$1" -c . | docker import -c \'CMD ["sh"]\' - "$2" >/dev/null', 'sh', root, ref])
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
  return ref
}

/** A helper whose shell takes `seconds` before it does anything (busybox runs its own applets: the shell it is). */
export const slowHelper = (seconds: number): string =>
  variant(`slow-${seconds}`, {
    'bin/sh': `#!/bin/busybox ash\n/bin/busybox sleep ${seconds}\nexec /bin/busybox ash "$@"\n`
  })

/** A helper whose shell sleeps `seconds` after each change it reports done. */
export const pausingHelper = (seconds: number): string =>
  variant(`pausing-${seconds}`, {
    'bin/sh':
      '#!/bin/busybox ash\n' +
      'if [ "$1" = -c ]; then\n' +
      `  s=$(printf '%s' "$2" | /bin/busybox sed 's/echo "ok $i"/echo "ok $i"; \\/bin\\/busybox sleep ${seconds}/')\n` +
      '  shift 2\n' +
      '  exec /bin/busybox ash -c "$s" "$@"\n' +
      'fi\n' +
      'exec /bin/busybox ash "$@"\n'
  })
