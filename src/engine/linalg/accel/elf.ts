// A native library cut short (a kill mid-install, a damaged copy) is not a load error on Linux but a SIGBUS: the loader
// maps segments past the file's end and the first touch kills the process, which no JavaScript can catch. So before
// loading a native file, check that its ELF header's segments and section table lie inside the file.
import * as fs from 'node:fs';

/** Why the 64-bit little-endian ELF file is cut short, or undefined when whole (or not such an ELF file: then the
 *  loader's own error says what is wrong). */
export function truncatedElf(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const read = (bytes: number, at: number) => {
      const b = Buffer.alloc(bytes);
      return fs.readSync(fd!, b, 0, bytes, at) === bytes ? b : undefined;
    };
    const h = read(64, 0);
    if (!h || h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1) return undefined; // not ELF64-LE
    const phoff = Number(h.readBigUInt64LE(0x20)),
      shoff = Number(h.readBigUInt64LE(0x28)),
      phentsize = h.readUInt16LE(0x36),
      phnum = h.readUInt16LE(0x38),
      shentsize = h.readUInt16LE(0x3a),
      shnum = h.readUInt16LE(0x3c);
    const short = (what: string, end: number) => `${file} is cut short: ${what} ends at byte ${end}, the file has ${size}`;
    if (phoff + phnum * phentsize > size) return short('its program headers', phoff + phnum * phentsize);
    if (shoff > 0 && shoff + shnum * shentsize > size) return short('its section table', shoff + shnum * shentsize);
    const ph = read(phnum * phentsize, phoff);
    if (!ph) return short('its program headers', phoff + phnum * phentsize);
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize,
        end = Number(ph.readBigUInt64LE(o + 0x08)) + Number(ph.readBigUInt64LE(o + 0x20)); // p_offset + p_filesz
      if (end > size) return short(`segment ${i}`, end);
    }
    return undefined;
  } catch {
    return undefined; // unreadable: the loader says why
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
