// Builds dist/native/woodfisher-linalg-<platform>-<arch>.node: native/linalg.c linked statically with OpenBLAS, so the
// file needs nothing but the C library at run time. Linux only (Debian/Ubuntu: `apt-get install libopenblas-dev`).
// Elsewhere, or without OpenBLAS, the Fisher math uses onnxruntime-node (docs/performance.md).
//   node native/build.mjs             build; fail with the reason when it cannot
//   node native/build.mjs --optional  build when possible, else say why in one line and exit 0 (npm's prepare);
//                                     WOODFISHER_REQUIRE_OPENBLAS=1 (CI) makes it required
// A compiler call, not node-gyp: one platform, one static library, and node-gyp would download Node's headers where
// the running Node's own (include/node beside its binary, or npm's nodedir) are already here.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';

const optional = process.argv.includes('--optional') && process.env.WOODFISHER_REQUIRE_OPENBLAS !== '1';
const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..');
const target = `${process.platform}-${process.arch}`;
const out = path.join(root, 'dist', 'native', `woodfisher-linalg-${target}.node`);

function give(reason) {
  if (!optional) {
    console.error(`native/build.mjs: ${reason}`);
    process.exit(1);
  }
  console.log(`native/build.mjs: not built (${reason}); the Fisher math uses onnxruntime-node`);
  process.exit(0);
}

if (process.platform !== 'linux') give(`builds on Linux only, this is ${target}`);
const multiarch = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[process.arch];
if (!multiarch) give(`no OpenBLAS location known for ${target}`);
// The pthread build, held to one thread of its own by linalg.c (the engine runs blocks in parallel itself): Debian's
// serial build shares its work buffers between callers, and two block threads at once got wrong factors from it.
const variant = 'openblas-pthread';
if (!existsSync(`/usr/lib/${multiarch}/${variant}/libopenblas.a`))
  give(`OpenBLAS's static library is missing (apt-get install libopenblas-dev)`);
const headers = [
  process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
  path.join(path.dirname(process.execPath), '..', 'include', 'node'),
].find(d => d && existsSync(path.join(d, 'node_api.h')));
if (!headers) give(`Node's headers (node_api.h) are not beside ${process.execPath}`);

mkdirSync(path.dirname(out), { recursive: true });
// what an interrupted build of ours left (its own temporary names only)
for (const f of readdirSync(path.dirname(out)))
  if (f.startsWith(`${path.basename(out)}.`) && f.endsWith('.tmp')) rmSync(path.join(path.dirname(out), f), { force: true });
const tmp = `${out}.${process.pid}.tmp`;
try {
  execFileSync(
    process.env.CC || 'cc',
    [
      '-O3',
      '-fPIC',
      '-shared',
      '-std=c11',
      '-Wall',
      '-Werror',
      `-I${headers}`,
      `-I/usr/include/${multiarch}/${variant}`,
      path.join(root, 'native', 'linalg.c'),
      `/usr/lib/${multiarch}/${variant}/libopenblas.a`,
      '-lm',
      '-lpthread',
      '-Wl,--gc-sections',
      '-Wl,--exclude-libs,ALL',
      '-s',
      '-o',
      tmp,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
} catch (e) {
  give(`the compiler failed (${e.message.split('\n')[0]})`);
}
renameSync(tmp, out); // whole or not at all: a process loading it never sees half a file
console.log(`native/build.mjs: built ${path.relative(root, out)} (OpenBLAS, static)`);
