/**
 * QEMU's version as the `qemu-version` output, the log and the summary show it. Whatever says it (an
 * emulator's --version, a cache entry's metadata, an image's labels) is outside data: only a plain
 * version number is taken, so a workflow that puts the output into a shell line runs nothing from it.
 */
const VERSION = /^[0-9]+(\.[0-9]+){1,3}([.+~-][0-9A-Za-z.]+)?$/

/** The version, when value is one; otherwise undefined. */
export const qemuVersionOf = (value: unknown): string | undefined =>
  typeof value === 'string' && VERSION.test(value) ? value : undefined
