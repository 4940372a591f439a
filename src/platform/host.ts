/**
 * Is a file an emulator this host can run? The emulators are host programs, so each must be an ELF
 * executable of the host's class, byte order and machine; the facts come from the platform table.
 */
import * as fs from 'node:fs/promises'
import { PLATFORMS, type Platform } from './platforms.js'
import { fromNodeArch } from './arch.js'

/** The host's own platform; without one nothing could be checked, so nothing is run. */
export function hostPlatform(nodeArch: string = process.arch): Platform {
  const host = fromNodeArch(nodeArch)
  if (!host) {
    throw new Error(
      `this host's arch (${nodeArch}) is not in the platform table, so the emulators cannot be checked to be programs ` +
        'for it: run the job on a runner of one of its arches (x86-64, arm64, 32-bit arm or x86, riscv64, ppc64le, s390x, ' +
        'mips64le, loong64).'
    )
  }
  return host
}

const ET_EXEC = 2
const ET_DYN = 3

/** What an ELF header says it is for, in words: the table's CPU name where there is one. */
function describe(bits: 32 | 64, endian: 'le' | 'be', machine: number): string {
  const p = PLATFORMS.find(q => q.elf.bits === bits && q.elf.endian === endian && q.elf.machine === machine)
  if (p) return p.cpu
  return `machine 0x${machine.toString(16)} (${bits}-bit, ${endian === 'le' ? 'little' : 'big'}-endian)`
}

/**
 * Why the start of a file is not an executable for host, or undefined when it is one. Reads only the
 * first 20 bytes: class, byte order, type and machine.
 */
export function elfProblem(head: Buffer, host: Platform): string | undefined {
  if (head.length < 20 || head.readUInt32BE(0) !== 0x7f454c46) return 'not an ELF file'
  const bits = head[4] === 1 ? 32 : head[4] === 2 ? 64 : undefined
  const endian = head[5] === 1 ? 'le' : head[5] === 2 ? 'be' : undefined
  if (!bits || !endian) return 'an ELF file of unknown class or byte order'
  const type = endian === 'le' ? head.readUInt16LE(16) : head.readUInt16BE(16)
  const machine = endian === 'le' ? head.readUInt16LE(18) : head.readUInt16BE(18)
  const what = describe(bits, endian, machine)
  if (bits !== host.elf.bits || endian !== host.elf.endian || machine !== host.elf.machine) {
    return `an ELF for ${what}, not for this ${host.cpu} host`
  }
  if (type !== ET_EXEC && type !== ET_DYN) return `an ELF for ${what} but not an executable (type ${type})`
  return undefined
}

/** Reads the header of file and says what is wrong with it for host, if anything. */
export async function fileProblem(file: string, host: Platform): Promise<string | undefined> {
  const fh = await fs.open(file, 'r')
  try {
    const head = Buffer.alloc(20)
    const { bytesRead } = await fh.read(head, 0, 20, 0)
    return elfProblem(head.subarray(0, bytesRead), host)
  } finally {
    await fh.close()
  }
}
