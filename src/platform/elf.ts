/**
 * Probes: the smallest static ELF executable for a platform that only makes the exit syscall.
 * Built from the platform table, so nothing binary is committed and nothing is downloaded.
 */
import type { Endian, Platform } from './platforms.js'

const LOAD_ADDRESS = 0x400000
const ET_EXEC = 2
const ET_DYN = 3
const ELFOSABI_GNU = 3
/** How many bytes of a file the kernel reads to pick a binary format handler. */
const BINPRM_BUF_SIZE = 256
const PT_LOAD = 1
const PF_R_X = 5

class Writer {
  private readonly buf: Buffer
  private pos = 0
  constructor(
    size: number,
    private readonly endian: Endian
  ) {
    this.buf = Buffer.alloc(size)
  }
  bytes(b: readonly number[]): void {
    for (const x of b) this.buf[this.pos++] = x
  }
  u16(v: number): void {
    this.pos = this.endian === 'le' ? this.buf.writeUInt16LE(v, this.pos) : this.buf.writeUInt16BE(v, this.pos)
  }
  u32(v: number): void {
    this.pos = this.endian === 'le' ? this.buf.writeUInt32LE(v, this.pos) : this.buf.writeUInt32BE(v, this.pos)
  }
  u64(v: number): void {
    const b = BigInt(v)
    this.pos = this.endian === 'le' ? this.buf.writeBigUInt64LE(b, this.pos) : this.buf.writeBigUInt64BE(b, this.pos)
  }
  /** an address or offset: 4 bytes in a 32-bit file, 8 in a 64-bit one */
  addr(bits: 32 | 64, v: number): void {
    if (bits === 64) this.u64(v)
    else this.u32(v)
  }
  done(): Buffer {
    return this.buf
  }
}

/** The first 20 bytes of an ELF file of this platform: what binfmt_misc entries for it match. */
export function elfIdent(p: Platform, type = ET_EXEC, osabi = 0): Buffer {
  const w = new Writer(20, p.elf.endian)
  w.bytes([0x7f, 0x45, 0x4c, 0x46, p.elf.bits === 64 ? 2 : 1, p.elf.endian === 'le' ? 1 : 2, 1, osabi])
  w.bytes(new Array(8).fill(0))
  w.u16(type)
  w.u16(p.elf.machine)
  return w.done()
}

/**
 * Every way a program of this platform can begin, as far as its first 20 bytes go: executables and
 * position-independent ones (ET_DYN), System V and GNU OS ABI. Bytes past these vary from file to file.
 */
export const elfShapes = (p: Platform): Buffer[] =>
  [ET_EXEC, ET_DYN].flatMap(type => [0, ELFOSABI_GNU].map(osabi => elfIdent(p, type, osabi)))

/** The probe as the kernel reads it to pick a handler: its first bytes, zero past the end of the file. */
export const probeHeader = (p: Platform): Buffer => {
  const header = Buffer.alloc(BINPRM_BUF_SIZE)
  buildProbe(p).copy(header)
  return header
}

export function buildProbe(p: Platform): Buffer {
  const { bits } = p.elf
  const ehsize = bits === 64 ? 64 : 52
  const phentsize = bits === 64 ? 56 : 32
  const codeOffset = ehsize + phentsize
  const size = codeOffset + p.code.length
  const w = new Writer(size, p.elf.endian)

  // ELF header: e_ident, e_type and e_machine come from the same bytes binfmt_misc matches
  w.bytes([...elfIdent(p)])
  w.u32(1) // e_version
  w.addr(bits, LOAD_ADDRESS + codeOffset) // e_entry
  w.addr(bits, ehsize) // e_phoff
  w.addr(bits, 0) // e_shoff
  w.u32(p.elf.flags)
  w.u16(ehsize)
  w.u16(phentsize)
  w.u16(1) // e_phnum
  w.u16(bits === 64 ? 64 : 40) // e_shentsize
  w.u16(0) // e_shnum
  w.u16(0) // e_shstrndx

  // one PT_LOAD covering the whole file; the field order differs between 32 and 64 bit
  w.u32(PT_LOAD)
  if (bits === 64) {
    w.u32(PF_R_X)
    w.u64(0)
    w.u64(LOAD_ADDRESS)
    w.u64(LOAD_ADDRESS)
    w.u64(size)
    w.u64(size)
    w.u64(0x10000)
  } else {
    w.u32(0)
    w.u32(LOAD_ADDRESS)
    w.u32(LOAD_ADDRESS)
    w.u32(size)
    w.u32(size)
    w.u32(PF_R_X)
    w.u32(0x10000)
  }
  w.bytes(p.code)
  return w.done()
}
