// A native file cut short must be refused before the loader maps it (on Linux loading it ends the process with SIGBUS):
// truncatedElf against whole and cut copies of the real native files, and the bundled CLI with its OpenBLAS addon cut
// short — it must run on onnxruntime-node (or JS) and say why, not die.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { truncatedElf } from '../../../../src/engine/linalg/accel/elf';
import { openBlasFile } from '../../../../src/engine/linalg/accel/openblas';
import { onnxRuntimeUnavailable } from '../../../../src/engine/linalg/accel/onnxruntime';
import { tempDir, root, ex } from '../../../cli/runCli';

const tmp = tempDir('woodfisher-elf-');

/** A copy of the CLI's bundles as installed, in `dir` (the OpenBLAS addon too when `addon` and it is built). */
function bundles(dir: string, addon: boolean): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['cli.js', 'blockWorker.js', 'ortThread.js']) fs.copyFileSync(path.join(root, 'dist', f), path.join(dir, f));
  fs.cpSync(path.join(root, 'dist', 'wasm'), path.join(dir, 'wasm'), { recursive: true });
  if (addon && openBlasFile()) fs.cpSync(path.dirname(openBlasFile()!), path.join(dir, 'native'), { recursive: true });
  return dir;
}

/** `prune` of the MLPNet example with the bundled CLI in `dist`, no provider pinned: status, output, report. */
function prune(dist: string, out: string, env: NodeJS.ProcessEnv) {
  const e: NodeJS.ProcessEnv = { ...env };
  delete e.WOODFISHER_LINALG;
  const r = spawnSync(
    process.execPath,
    [path.join(dist, 'cli.js'), 'prune', ex('mlpnet/woodfisher.yaml'), '--samples', '32', '--out', out],
    {
      encoding: 'utf8',
      env: e,
      timeout: 300_000,
    },
  );
  assert.equal(r.status, 0, `exit ${r.status} signal ${r.signal}: ${r.stderr}`);
  return { ...r, report: JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) };
}
const ort = path.join(root, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime.so.1');
const natives = [openBlasFile(), fs.existsSync(ort) ? ort : undefined].filter((f): f is string => !!f);

test(
  'truncatedElf: the whole native files pass; copies cut anywhere are refused with where they end; other files are left to the loader',
  {
    skip: (process.platform !== 'linux' || natives.length === 0) && 'no ELF native file here',
  },
  () => {
    for (const file of natives) {
      assert.equal(truncatedElf(file), undefined, file);
      const whole = fs.readFileSync(file);
      for (const keep of [64, 4096, Math.floor(whole.length / 2), whole.length - 1]) {
        const cut = path.join(tmp, `cut-${keep}-${path.basename(file)}`);
        fs.writeFileSync(cut, whole.subarray(0, keep));
        assert.match(truncatedElf(cut) ?? 'passed', /is cut short: .* ends at byte \d+, the file has \d+/, `${file} cut at ${keep}`);
      }
    }
    const text = path.join(tmp, 'not-elf.node');
    fs.writeFileSync(text, 'garbage');
    assert.equal(truncatedElf(text), undefined);
    assert.equal(truncatedElf(path.join(tmp, 'missing.node')), undefined);
  },
);

test(
  'the bundled CLI with its OpenBLAS addon cut short: the prune runs on another provider and the report says why',
  {
    skip: (!openBlasFile() && 'no OpenBLAS addon built here') || onnxRuntimeUnavailable(), // the run goes on on onnxruntime
  },
  () => {
    // a copy of the bundles as installed, the addon cut to 4 KB (what a kill mid-install leaves)
    const dist = bundles(path.join(tmp, 'dist'), false);
    const addon = openBlasFile()!;
    fs.mkdirSync(path.join(dist, 'native'));
    fs.writeFileSync(path.join(dist, 'native', path.basename(addon)), fs.readFileSync(addon).subarray(0, 4096));
    const r = prune(dist, path.join(tmp, 'pruned'), { ...process.env, NODE_PATH: path.join(root, 'node_modules') }),
      report = r.report;
    assert.notEqual(report.linalg, 'openblas-f64');
    assert.match(report.linalgNote ?? '', /cut short/);
    assert.equal((r.stdout + r.stderr).match(/cut short/g)?.length, 1, 'said once');
  },
);

test(
  "onnxruntime-node's library cut short (a damaged install): the run ends normally on the other providers, no SIGBUS",
  {
    skip: (process.platform !== 'linux' || !fs.existsSync(ort)) && 'no onnxruntime-node library for this platform here',
  },
  () => {
    const dist = bundles(path.join(tmp, 'dist-ort'), true);
    // dist/node_modules as a platform VSIX lays it out, its libonnxruntime cut to 4 KB
    const from = path.join(root, 'node_modules'),
      to = path.join(dist, 'node_modules');
    const bin = path.join('onnxruntime-node', 'bin', 'napi-v6', process.platform, process.arch);
    fs.mkdirSync(path.join(to, bin), { recursive: true });
    fs.cpSync(path.join(from, 'onnxruntime-node', 'dist'), path.join(to, 'onnxruntime-node', 'dist'), { recursive: true });
    fs.copyFileSync(path.join(from, 'onnxruntime-node', 'package.json'), path.join(to, 'onnxruntime-node', 'package.json'));
    fs.cpSync(path.join(from, 'onnxruntime-common'), path.join(to, 'onnxruntime-common'), { recursive: true });
    fs.copyFileSync(path.join(from, bin, 'onnxruntime_binding.node'), path.join(to, bin, 'onnxruntime_binding.node'));
    fs.writeFileSync(path.join(to, bin, 'libonnxruntime.so.1'), fs.readFileSync(ort).subarray(0, 4096));
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_PATH;
    const { report } = prune(dist, path.join(tmp, 'pruned-ort'), env);
    assert.equal(report.linalg, openBlasFile() ? 'openblas-f64' : 'js');
    // either way the report says why: the Fisher products in plain JS, or the gradients' products on TF.js
    assert.match(
      report.linalgNote,
      openBlasFile() ? /gradient pass and its conv and dense products run on TF\.js.*cut short/ : /cut short/,
    );
  },
);
