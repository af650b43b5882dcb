// Each model's last run survives a window reload through the workspace's state (a Memento), the most recent 50.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Memento } from 'vscode';
import { Registry, REMEMBERED_MODELS } from '../../src/extension/registry';
import { DEFAULT_OPTIONS, type GradualOptions, type PruneOptions } from '../../src/protocol';
import type { JobManager } from '../../src/extension/jobs';
import type { PanelManager } from '../../src/extension/resultsPanel';
import type { ResultsStore } from '../../src/extension/resultsStore';

/** VS Code's workspace state as it behaves: JSON values by key (a reload reads what the last window wrote). */
function memento(): Memento & { saved: Map<string, string> } {
  const saved = new Map<string, string>();
  return {
    saved,
    keys: () => [...saved.keys()],
    get: <T>(key: string, fallback?: T) => (saved.has(key) ? (JSON.parse(saved.get(key)!) as T) : fallback),
    update: async (key: string, value: unknown) => void saved.set(key, JSON.stringify(value)),
  } as Memento & { saved: Map<string, string> };
}
const registry = (state?: Memento) => new Registry({} as JobManager, {} as PanelManager, {} as ResultsStore, state);
const prune = (model: string, sparsity = 0.9): PruneOptions => ({
  ...DEFAULT_OPTIONS,
  modelPath: path.resolve(model),
  dataPath: '/d/x.npy',
  outDir: '/o',
  sparsity,
});

test('a reload (a new registry on the same state) finds each model’s last one-shot and gradual options', () => {
  const state = memento();
  const before = registry(state);
  before.remember(prune('/m/a/model.json', 0.5));
  before.remember(prune('/m/a/model.json', 0.8)); // the last one counts
  const gradual = { ...prune('/m/b/model.json'), epochs: 12, optimizer: 'sgd', lr: 0.1 } as GradualOptions;
  before.rememberGradual(gradual);
  const after = registry(state);
  assert.equal(after.lastOptions('/m/a/model.json')?.sparsity, 0.8);
  assert.equal(after.lastOptions('/m/a/../a/model.json')?.sparsity, 0.8, 'paths are resolved');
  assert.deepEqual(after.lastGradual('/m/b/model.json'), gradual);
  assert.equal(after.lastOptions('/m/b/model.json'), undefined, 'one-shot and gradual runs are kept apart');
  assert.equal(registry().lastOptions('/m/a/model.json'), undefined, 'without a state nothing outlives the registry');
});

test(`the state keeps the ${REMEMBERED_MODELS} most recently run models`, () => {
  const state = memento();
  const r = registry(state);
  for (let i = 0; i < REMEMBERED_MODELS + 5; i++) r.remember(prune(`/m/${i}/model.json`));
  r.remember(prune('/m/0/model.json', 0.7)); // forgotten, then run again: the most recent
  const after = registry(state);
  assert.equal(after.lastOptions('/m/0/model.json')?.sparsity, 0.7);
  for (let i = 1; i <= 5; i++) assert.equal(after.lastOptions(`/m/${i}/model.json`), undefined, `model ${i} is among the oldest`);
  assert.ok(after.lastOptions(`/m/6/model.json`), 'model 6 is the oldest kept');
  assert.ok(after.lastOptions(`/m/${REMEMBERED_MODELS + 4}/model.json`));
  assert.equal(Object.keys(JSON.parse(state.saved.get('woodfisher.lastRuns')!)).length, REMEMBERED_MODELS);
});
