// woodfisher.prune end to end inside the real extension host: a run that finishes, a run that is cancelled,
// and inputs that must fail cleanly. Every model is a fresh copy in a scratch folder of the workspace copy.
import type Mocha from 'mocha';
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  defineSuite,
  activate,
  assert,
  workspaceRoot,
  scratch,
  copyModel,
  hashTree,
  prune,
  npyRows,
  sleep,
  PruneCommandResult,
} from './util';

/** Processes whose parent is this extension host and whose command line names the bundled worker. */
function workerChildren(): Set<number> {
  const out = new Set<number>();
  let entries: string[] = [];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) {
      continue;
    }
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) {
        continue;
      }
      const cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (/worker\.js/.test(cmd)) {
        out.add(Number(e));
      }
    } catch {
      /* gone */
    }
  }
  return out;
}

function describe(r: PruneCommandResult | undefined): string {
  return JSON.stringify(r && { ...r, report: r.report ? { sparsity: r.report.sparsity, backend: r.report.backend } : undefined });
}

export function registerPruneSuite(root: Mocha.Suite): void {
  defineSuite(root, 'woodfisher.prune', s => {
    let ws = '';
    let data = { x: '', y: '' };
    s.suiteSetup(async () => {
      await activate();
      ws = workspaceRoot();
      data = { x: path.join(ws, 'data', 'calib-x.npy'), y: path.join(ws, 'data', 'calib-y.npy') };
    });

    s.test('prunes a copy of mlpnet to 90% sparsity, writes model.json + report.json, leaves the input untouched', async () => {
      const dir = scratch('prune');
      const model = copyModel(path.join(ws, 'mlpnet'), path.join(dir, 'model'));
      const before = hashTree(path.dirname(model));
      const outDir = path.join(dir, 'out');
      const r = await prune(vscode.Uri.file(model), {
        noPrompt: true,
        sparsity: 0.9,
        samples: 64,
        dataPath: data.x,
        labelsPath: data.y,
        outDir,
      });
      assert(r && r.status === 'done', `expected status 'done', got ${describe(r)}`);
      assert(
        fs.existsSync(path.join(outDir, 'model.json')),
        `no model.json in ${outDir}: ${fs.existsSync(outDir) ? fs.readdirSync(outDir) : 'missing'}`,
      );
      const reportPath = path.join(outDir, 'report.json');
      assert(fs.existsSync(reportPath), `no report.json in ${outDir}: ${fs.readdirSync(outDir)}`);
      const report = JSON.parse(fs.readFileSync(reportPath, 'utf8'));
      const achieved = report?.sparsity?.achieved;
      assert(typeof achieved === 'number' && Math.abs(achieved - 0.9) < 0.01, `achieved sparsity ${achieved}, expected ≈ 0.9`);
      // The platform VSIX ships onnxruntime-node: the worker in the extension host must find and use it.
      const expectLinalg = process.env.WOODFISHER_EXPECT_LINALG;
      if (expectLinalg) assert(report.linalg === expectLinalg, `linalg provider ${report.linalg}, expected ${expectLinalg}`);
      if (r.reportPath) {
        assert(path.resolve(r.reportPath) === path.resolve(reportPath), `result.reportPath ${r.reportPath} ≠ ${reportPath}`);
      }
      if (r.report) {
        assert(Math.abs(r.report.sparsity.achieved - achieved) < 1e-12, 'result.report differs from report.json');
      }
      // the pruned model's shards are all there
      const pruned = JSON.parse(fs.readFileSync(path.join(outDir, 'model.json'), 'utf8'));
      for (const g of pruned.weightsManifest ?? []) {
        for (const p of g.paths ?? []) {
          assert(fs.existsSync(path.join(outDir, p)), `pruned model lacks shard ${p}`);
        }
      }
      const after = hashTree(path.dirname(model));
      assert(
        JSON.stringify(after) === JSON.stringify(before),
        `the input model folder changed:\nbefore ${JSON.stringify(before)}\nafter  ${JSON.stringify(after)}`,
      );
    });

    s.test('a 2:4 pattern through the command: exactly 50% sparsity, recorded in the report', async () => {
      const dir = scratch('pattern');
      const model = copyModel(path.join(ws, 'mlpnet'), path.join(dir, 'model'));
      const outDir = path.join(dir, 'out');
      const r = await prune(vscode.Uri.file(model), {
        noPrompt: true,
        pattern: '2:4',
        samples: 64,
        dataPath: data.x,
        labelsPath: data.y,
        outDir,
      });
      assert(r && r.status === 'done', `expected status 'done', got ${describe(r)}`);
      const report = JSON.parse(fs.readFileSync(path.join(outDir, 'report.json'), 'utf8'));
      assert(Math.abs(report.sparsity.achieved - 0.5) < 1e-9, `achieved ${report.sparsity.achieved}`);
      assert(report.settings.pattern === '2:4', `settings.pattern ${report.settings.pattern}`);
    });

    s.test('woodfisher.cancel stops a running job: status cancelled, no output folder', async () => {
      const dir = scratch('cancel');
      const model = copyModel(path.join(ws, 'mlpnet'), path.join(dir, 'model'));
      const outDir = path.join(dir, 'out');
      const samples = npyRows(data.x);
      const started = Date.now();
      const running = prune(vscode.Uri.file(model), {
        noPrompt: true,
        sparsity: 0.9,
        samples,
        dataPath: data.x,
        labelsPath: data.y,
        outDir,
      });
      let settled: PruneCommandResult | undefined;
      void running.then(
        v => {
          settled = v;
        },
        () => undefined,
      );
      await sleep(Number(process.env.WOODFISHER_CANCEL_AFTER_MS || 400));
      assert(!settled, `the run ended before it could be cancelled (${Date.now() - started} ms, ${samples} samples): ${describe(settled)}`);
      await vscode.commands.executeCommand('woodfisher.cancel');
      const r = await Promise.race([running, sleep(30_000).then(() => undefined)]);
      assert(r, 'the cancelled run did not settle within 30 s');
      assert(r.status === 'cancelled', `expected status 'cancelled', got ${describe(r)}`);
      assert(!fs.existsSync(outDir), `the output folder exists after cancel: ${outDir}`);
      // the worker process is gone (give it a moment to exit: it cleans up, or is killed after 500 ms and the
      // extension cleans what it left)
      for (let i = 0; i < 20 && workerChildren().size > 0; i++) {
        await sleep(250);
      }
      assert(workerChildren().size === 0, `worker process(es) still running after cancel: ${[...workerChildren()].join(', ')}`);
      const leftovers = () => fs.readdirSync(dir).filter(n => n !== 'model');
      for (let i = 0; i < 20 && leftovers().length > 0; i++) await sleep(100);
      assert(leftovers().length === 0, `cancel left files beside the output: ${leftovers().join(', ')}`);
    });

    s.test('a worker that dies mid-run (killed from outside) is an error, writes nothing, and the next run works', async () => {
      const dir = scratch('crash');
      const model = copyModel(path.join(ws, 'mlpnet'), path.join(dir, 'model'));
      const outDir = path.join(dir, 'out');
      const before = workerChildren();
      const running = prune(vscode.Uri.file(model), {
        noPrompt: true,
        sparsity: 0.9,
        samples: npyRows(data.x),
        dataPath: data.x,
        labelsPath: data.y,
        outDir,
      });
      let victim: number | undefined;
      for (let i = 0; i < 200 && victim === undefined; i++) {
        victim = [...workerChildren()].find(p => !before.has(p));
        if (victim === undefined) {
          await sleep(25);
        }
      }
      assert(victim !== undefined, 'no worker process appeared');
      process.kill(victim, 'SIGKILL');
      const r = await running;
      assert(r.status === 'error' && /worker/i.test(r.error ?? ''), `expected a worker error, got ${describe(r)}`);
      assert(!fs.existsSync(outDir), `a crashed run left output in ${outDir}`);
      const again = await prune(vscode.Uri.file(model), {
        noPrompt: true,
        sparsity: 0.9,
        samples: 64,
        dataPath: data.x,
        labelsPath: data.y,
        outDir,
      });
      assert(again.status === 'done', `the run after a crash: ${describe(again)}`);
    });

    s.test('a truncated weight shard fails with an error naming the shard, and writes nothing', async () => {
      const dir = scratch('shard');
      const model = copyModel(path.join(ws, 'mlpnet'), path.join(dir, 'model'));
      const manifest = JSON.parse(fs.readFileSync(model, 'utf8')).weightsManifest;
      const shard = path.join(path.dirname(model), manifest[0].paths[0]);
      const size = fs.statSync(shard).size;
      fs.truncateSync(shard, Math.floor(size / 2));
      const outDir = path.join(dir, 'out');
      const r = await prune(vscode.Uri.file(model), {
        noPrompt: true,
        sparsity: 0.9,
        samples: 64,
        dataPath: data.x,
        labelsPath: data.y,
        outDir,
      });
      assert(r && r.status === 'error', `expected status 'error', got ${describe(r)}`);
      const base = path.basename(shard);
      assert(
        typeof r.error === 'string' && (/shard/i.test(r.error) || r.error.includes(base)),
        `the error should mention the shard (${base}): ${r.error}`,
      );
      assert(!fs.existsSync(outDir), `an output folder was written: ${outDir}`);
    });

    s.test('a graph-model fails with an error before any worker starts', async () => {
      const dir = scratch('graph');
      fs.writeFileSync(
        path.join(dir, 'model.json'),
        JSON.stringify({
          format: 'graph-model',
          generatedBy: '2.15.0',
          convertedBy: 'TensorFlow.js Converter v4.22.0',
          modelTopology: { node: [{ name: 'x', op: 'Placeholder', attr: {} }], library: {}, versions: { producer: 1 } },
          weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [] }],
        }),
      );
      fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), Buffer.alloc(0));
      const outDir = path.join(dir, 'out');
      const seen = new Set<number>();
      const existing = workerChildren();
      let polling = true;
      const poll = (async () => {
        while (polling) {
          for (const p of workerChildren()) {
            if (!existing.has(p)) {
              seen.add(p);
            }
          }
          await sleep(10);
        }
      })();
      let r: PruneCommandResult | undefined;
      try {
        r = await prune(vscode.Uri.file(path.join(dir, 'model.json')), {
          noPrompt: true,
          sparsity: 0.5,
          samples: 16,
          dataPath: data.x,
          labelsPath: data.y,
          outDir,
        });
      } finally {
        polling = false;
        await poll;
      }
      assert(r && r.status === 'error', `expected status 'error', got ${describe(r)}`);
      assert(
        typeof r.error === 'string' && /graph|layers.?model/i.test(r.error),
        `the error should say it is a graph model / not a layers model: ${r.error}`,
      );
      assert(seen.size === 0, `a worker process was started for a graph-model (pids ${[...seen].join(', ')})`);
      assert(!fs.existsSync(outDir), `an output folder was written: ${outDir}`);
    });
  });
}
