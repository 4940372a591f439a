/**
 * The platform table: every platform this action knows, as data in one place.
 * Magic, mask and probe are derived from the ELF facts here (see binfmt/entry.ts and platform/elf.ts),
 * so a probe always matches the entry that is meant to run it.
 */

export type Endian = 'le' | 'be'

export interface Platform {
  /** buildx architecture word, e.g. `arm64`; also the platform's id everywhere in this action */
  readonly arch: string
  /** buildx platforms this entry serves, canonical first (`linux/arm/v7`, `linux/arm/v6`) */
  readonly platforms: readonly string[]
  /** other words users write for it (QEMU and Debian names) */
  readonly aliases: readonly string[]
  /** QEMU's name for the CPU: the emulator is `qemu-<cpu>`, the binfmt entry `qemu-<cpu>` */
  readonly cpu: string
  /** platforms of one family are the only ones a CPU can run natively (x86_64 runs i386, arm64 may run arm) */
  readonly family: string
  readonly elf: {
    readonly bits: 32 | 64
    readonly endian: Endian
    readonly machine: number
    /** e_flags of the probe (some emulators pick a CPU model from them) */
    readonly flags: number
  }
  /** mask bytes that differ from the default mask, by offset */
  readonly maskOverrides?: Readonly<Record<number, number>>
  /** machine code of the probe: exit(PROBE_EXIT_CODE) through the raw exit syscall */
  readonly code: readonly number[]
  /** what it is called outside this table, where a host of it has a word (platform/arch.ts reads them) */
  readonly names: {
    /** Node's `process.arch` on such a host */
    readonly node?: string
    /** the `{arch}` of the release tarball for such a host; without one, Node's word is used */
    readonly tarball?: string
    /** the `uname -m` words of such a kernel */
    readonly machine?: RegExp
  }
}

/** The code every probe exits with; anything else means the wrong thing ran. */
export const PROBE_EXIT_CODE = 42

const word = (endian: Endian, ...words: number[]): number[] =>
  words.flatMap(w => {
    const b = [(w >>> 24) & 0xff, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff]
    return endian === 'be' ? b : b.reverse()
  })

export const PLATFORMS: readonly Platform[] = [
  {
    arch: 'amd64',
    family: 'x86',
    names: { node: 'x64', tarball: 'amd64', machine: /^x86_64$/ },
    platforms: ['linux/amd64'],
    aliases: ['x86_64', 'x86-64'],
    cpu: 'x86_64',
    elf: { bits: 64, endian: 'le', machine: 0x3e, flags: 0 },
    // mov edi,42; mov eax,60 (exit); syscall
    code: [0xbf, 42, 0, 0, 0, 0xb8, 60, 0, 0, 0, 0x0f, 0x05]
  },
  {
    arch: '386',
    family: 'x86',
    names: { node: 'ia32', tarball: '386', machine: /^i[3-6]86$/ },
    platforms: ['linux/386'],
    aliases: ['i386', 'i686', 'x86'],
    cpu: 'i386',
    elf: { bits: 32, endian: 'le', machine: 0x03, flags: 0 },
    // mov ebx,42; mov eax,1 (exit); int 0x80
    code: [0xbb, 42, 0, 0, 0, 0xb8, 1, 0, 0, 0, 0xcd, 0x80]
  },
  {
    arch: 'arm64',
    family: 'arm',
    names: { node: 'arm64', tarball: 'arm64', machine: /^aarch64$/ },
    platforms: ['linux/arm64'],
    aliases: ['aarch64', 'arm64v8', 'linux/arm64/v8'],
    cpu: 'aarch64',
    elf: { bits: 64, endian: 'le', machine: 0xb7, flags: 0 },
    // movz x0,#42; movz x8,#93 (exit); svc #0
    code: word('le', 0xd2800540, 0xd2800ba8, 0xd4000001)
  },
  {
    arch: 'arm',
    family: 'arm',
    names: { node: 'arm', tarball: 'arm-v7', machine: /^arm$|^armv[5-8]/ },
    platforms: ['linux/arm/v7', 'linux/arm/v6'],
    aliases: ['armhf', 'armel', 'armv7', 'armv6', 'linux/arm'],
    cpu: 'arm',
    elf: { bits: 32, endian: 'le', machine: 0x28, flags: 0x05000400 },
    // mov r0,#42; mov r7,#1 (exit, EABI); svc #0
    code: word('le', 0xe3a0002a, 0xe3a07001, 0xef000000)
  },
  {
    arch: 'riscv64',
    family: 'riscv64',
    names: { node: 'riscv64', tarball: 'riscv64', machine: /^riscv64$/ },
    platforms: ['linux/riscv64'],
    aliases: [],
    cpu: 'riscv64',
    elf: { bits: 64, endian: 'le', machine: 0xf3, flags: 0x5 },
    // addi a0,zero,42; addi a7,zero,93 (exit); ecall
    code: word('le', 0x02a00513, 0x05d00893, 0x00000073)
  },
  {
    arch: 'ppc64le',
    family: 'ppc64le',
    names: { node: 'ppc64', tarball: 'ppc64le', machine: /^ppc64le$/ },
    platforms: ['linux/ppc64le'],
    aliases: ['ppc64el', 'powerpc64le'],
    cpu: 'ppc64le',
    elf: { bits: 64, endian: 'le', machine: 0x15, flags: 0x2 },
    // upstream ignores the high byte of e_machine on ppc64le
    maskOverrides: { 19: 0x00 },
    // li r0,1 (exit); li r3,42; sc
    code: word('le', 0x38000001, 0x3860002a, 0x44000002)
  },
  {
    arch: 's390x',
    family: 's390x',
    names: { node: 's390x', tarball: 's390x', machine: /^s390x$/ },
    platforms: ['linux/s390x'],
    aliases: [],
    cpu: 's390x',
    elf: { bits: 64, endian: 'be', machine: 0x16, flags: 0 },
    // lghi r2,42; svc 1 (exit)
    code: [0xa7, 0x29, 0x00, 42, 0x0a, 0x01]
  },
  {
    arch: 'mips64le',
    family: 'mips64le',
    names: { node: 'mips64el', machine: /^mips64el$/ },
    platforms: ['linux/mips64le'],
    aliases: ['mips64el'],
    cpu: 'mips64el',
    elf: { bits: 64, endian: 'le', machine: 0x08, flags: 0x80000007 },
    // n64: the ABI version byte varies
    maskOverrides: { 8: 0x00 },
    // daddiu v0,zero,5058 (exit, n64); daddiu a0,zero,42; syscall
    code: word('le', 0x640213c2, 0x6404002a, 0x0000000c)
  },
  {
    arch: 'mips64',
    family: 'mips64',
    // uname says mips64 for either byte order, so the word names neither
    names: {},
    platforms: ['linux/mips64'],
    aliases: [],
    cpu: 'mips64',
    elf: { bits: 64, endian: 'be', machine: 0x08, flags: 0x80000007 },
    maskOverrides: { 8: 0x00 },
    code: word('be', 0x640213c2, 0x6404002a, 0x0000000c)
  },
  {
    arch: 'loong64',
    family: 'loong64',
    names: { node: 'loong64', machine: /^loongarch64$/ },
    platforms: ['linux/loong64'],
    aliases: ['loongarch64'],
    cpu: 'loongarch64',
    elf: { bits: 64, endian: 'le', machine: 0x102, flags: 0x43 },
    maskOverrides: { 7: 0xfc, 8: 0x00 },
    // addi.w a0,zero,42; addi.w a7,zero,93 (exit); syscall 0
    code: word('le', 0x0280a804, 0x0281740b, 0x002b0000)
  }
]

/** Every word `platforms:` accepts, mapped to its table entry. */
const BY_WORD: ReadonlyMap<string, Platform> = new Map(
  PLATFORMS.flatMap(p => [p.arch, `linux/${p.arch}`, p.cpu, ...p.platforms, ...p.aliases].map(w => [w, p] as const))
)

export const ACCEPTED_WORDS: readonly string[] = ['all', ...BY_WORD.keys()]

/** A platform by any word for it; a variant (`linux/arm/v5`, `linux/amd64/v3`, `arm64/v8`) is its platform. */
export function byWord(word: string): Platform | undefined {
  const w = word.toLowerCase()
  return BY_WORD.get(w) ?? BY_WORD.get(w.replace(/\/v[0-9]+$/, ''))
}

export function byArch(arch: string): Platform {
  const p = PLATFORMS.find(q => q.arch === arch)
  if (!p) throw new Error(`unknown platform id ${arch}`)
  return p
}

/** The binfmt_misc entry name, as upstream and the distros name it. */
export const entryName = (p: Platform): string => `qemu-${p.cpu}`

/** The emulator's file name in an image or tarball. */
export const emulatorName = (p: Platform): string => `qemu-${p.cpu}`

/** Every emulator file name the table knows, in table order. */
export const EMULATOR_NAMES: readonly string[] = PLATFORMS.map(emulatorName)
