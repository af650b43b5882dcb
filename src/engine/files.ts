// Reading a user's input file: only regular files, size known and bounded before a byte is read (no hang on a FIFO
// or /dev/zero, no EISDIR text, no allocation a declared size did not allow).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WoodFisherError, type ErrorCode } from './types';
import { formatBytes } from './report/bytes';

/** Node cannot hold more than this in one Buffer. */
const MAX_BUFFER = 2 ** 31 - 1;

/** A failed stat or open as one line: "not found", or "cannot read" with the system's code (EACCES, ELOOP …). */
function unreadable(e: unknown, what: string, file: string, code: ErrorCode): WoodFisherError {
  const c = (e as NodeJS.ErrnoException).code;
  const message = c === 'ENOENT' || c === 'ENOTDIR' ? `${what} not found: ${file}` : `cannot read ${what} ${file} (${c})`;
  return new WoodFisherError(message, code, { file });
}

/** Checks that `file` is an existing regular file (links followed) and returns its size; `what` names it in messages. */
export function inputFileSize(file: string, what: string, code: ErrorCode = 'DATA_FORMAT'): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw unreadable(e, what, file, code);
  }
  checkRegular(st, file, what, code);
  return st.size;
}

/** "Data file /dev/zero is a device, not a regular file": the path as given (a basename hides which /dev/zero). */
function checkRegular(st: fs.Stats, file: string, what: string, code: ErrorCode): void {
  if (!st.isFile()) throw new WoodFisherError(`${what} ${file} is ${kind(st)}, not a regular file`, code, { file });
}

/** Reads a regular file of at most maxBytes (checked on the opened file before reading: no race with a swap). */
export function readInputFile(
  file: string,
  what: string,
  maxBytes: number,
  code: ErrorCode = 'DATA_FORMAT',
  hint = ' (raise --max-memory)',
): Buffer {
  inputFileSize(file, what, code); // clear messages for missing files and folders
  const fd = fs.openSync(file, fs.constants.O_RDONLY | NONBLOCK); // O_NONBLOCK: opening a FIFO never waits
  try {
    const size = checkOpened(fs.fstatSync(fd), file, what, maxBytes, code, hint);
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = fs.readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    if (got !== size) throw new WoodFisherError(`${what} ${path.basename(file)} changed while it was read`, code, { file });
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

/** The same for the extension host: async, never blocks on a FIFO, bounded by maxBytes. */
export async function readInputText(file: string, what: string, maxBytes: number, code: ErrorCode = 'DATA_FORMAT'): Promise<string> {
  let h: fs.promises.FileHandle;
  try {
    h = await fs.promises.open(file, fs.constants.O_RDONLY | NONBLOCK);
  } catch (e) {
    throw unreadable(e, what, file, code);
  }
  try {
    const size = checkOpened(await h.stat(), file, what, maxBytes, code, '');
    const buf = Buffer.alloc(size);
    const { bytesRead } = await h.read(buf, 0, size, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await h.close();
  }
}

const NONBLOCK = fs.constants.O_NONBLOCK ?? 0;

function checkOpened(st: fs.Stats, file: string, what: string, maxBytes: number, code: ErrorCode, hint: string): number {
  checkRegular(st, file, what, code);
  const limit = Math.min(maxBytes, MAX_BUFFER);
  if (st.size > limit) {
    throw new WoodFisherError(
      `${what} ${path.basename(file)} is ${formatBytes(st.size)}, over the ${formatBytes(limit)} ${limit < MAX_BUFFER ? `this run may read${hint}` : 'one file can hold in memory'}`,
      code === 'DATA_FORMAT' ? 'MEMORY' : code,
      { file },
    );
  }
  return st.size;
}

function kind(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'something else';
}
