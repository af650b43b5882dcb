// The marker that makes an output folder provably ours: `.woodfisher-output.json` names every file the tool wrote
// there. A folder is replaced only when it holds exactly those files (and the folders leading to them).
import * as fs from 'node:fs';
import * as path from 'node:path';

export const MARKER = '.woodfisher-output.json';

export interface Marker {
  tool: 'woodfisher';
  version: 1;
  kind: string; // 'prune', 'sweep', 'gradual' …
  written: string; // ISO date
  files: string[]; // paths relative to the folder, '/'-separated, the marker itself excluded
}

/** Every regular file below dir, relative and '/'-separated; anything else (links, FIFOs …) is reported as foreign. */
export function listTree(dir: string): { files: string[]; dirs: string[]; foreign: string[] } {
  const files: string[] = [],
    dirs: string[] = [],
    foreign: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        dirs.push(r);
        walk(r);
      } else if (e.isFile()) files.push(r);
      else foreign.push(r);
    }
  };
  walk('');
  return { files, dirs, foreign };
}

export function writeMarker(dir: string, kind: string): Marker {
  const files = listTree(dir)
    .files.filter(f => f !== MARKER)
    .sort();
  const marker: Marker = { tool: 'woodfisher', version: 1, kind, written: new Date().toISOString(), files };
  const fd = fs.openSync(path.join(dir, MARKER), 'wx');
  try {
    fs.writeFileSync(fd, JSON.stringify(marker, null, 1) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return marker;
}

/** The folder's marker, or undefined when it has none (or one that is not ours). */
export function readMarker(dir: string): Marker | undefined {
  const file = path.join(dir, MARKER);
  try {
    const st = fs.lstatSync(file);
    if (!st.isFile() || st.size > 16 * 1024 * 1024) return undefined;
    const m = JSON.parse(fs.readFileSync(file, 'utf8'));
    const ok =
      m?.tool === 'woodfisher' &&
      m.version === 1 &&
      Array.isArray(m.files) &&
      m.files.every((f: unknown) => typeof f === 'string' && safeRelative(f));
    return ok ? (m as Marker) : undefined;
  } catch {
    return undefined;
  }
}

function safeRelative(f: string): boolean {
  return f.length > 0 && !f.startsWith('/') && !f.split('/').some(p => p === '..' || p === '.' || p === '');
}

/**
 * What in dir the tool did not write: everything, when it has no marker; else every file not listed, every link or
 * special file, and every folder that leads to no listed file. Empty list: the folder may be replaced.
 */
export function foreignEntries(dir: string): string[] {
  const { files, dirs, foreign } = listTree(dir);
  if (files.length === 0 && dirs.length === 0 && foreign.length === 0) return [];
  const marker = readMarker(dir);
  if (!marker) return [...files, ...dirs, ...foreign].filter(f => !f.includes('/'));
  const listed = new Set(marker.files);
  const parents = new Set(
    marker.files.flatMap(f =>
      f
        .split('/')
        .slice(0, -1)
        .map((_, i, a) => a.slice(0, i + 1).join('/')),
    ),
  );
  return [...foreign, ...files.filter(f => f !== MARKER && !listed.has(f)), ...dirs.filter(d => !parents.has(d))];
}

/**
 * Removes what the marker lists, then the folders that became empty, then dir itself. Returns false (and leaves
 * them) when anything else is in the way: files that appeared later are never deleted.
 */
export function removeOurFiles(dir: string, step: (name: string) => void = () => {}): boolean {
  const marker = readMarker(dir);
  if (!marker) return false;
  for (const f of marker.files) {
    const p = path.join(dir, ...f.split('/'));
    try {
      if (fs.lstatSync(p).isFile()) fs.unlinkSync(p);
    } catch {
      /* already gone */
    }
    step('dropping');
  }
  const dirs = listTree(dir).dirs.sort((a, b) => b.length - a.length);
  for (const d of dirs) {
    try {
      fs.rmdirSync(path.join(dir, ...d.split('/')));
    } catch {
      /* not empty: not ours */
    }
  }
  fs.unlinkSync(path.join(dir, MARKER));
  try {
    fs.rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}
