// The panel's view of a gradual run, folded from its events, and restored from a report.json (reload).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyGradualEvent, gradualViewOf, isGradualOnly } from '../../src/extension/gradualSnapshot';
import { emptySnapshot, applyEvent } from '../../src/extension/snapshot';
import type { EpochRecord, GradualEvent, GradualReport, PanelSnapshot } from '../../src/protocol';

const epoch = (n: number, acc: number): EpochRecord => ({
  epoch: n,
  lr: 0.1,
  train: { loss: 0.3, accuracy: acc },
  eval: { loss: 0.4, accuracy: acc - 0.01, samples: 100 },
  sparsity: 0.5,
  layers: { fc1: 0.6, fc2: 0.2 },
  seconds: 1,
});

test('schedule, epochs, steps and checkpoints fold into the snapshot; shared events still go through applyEvent', () => {
  let s: PanelSnapshot = { ...emptySnapshot('/m/model.json', 'm'), mode: 'gradual', status: 'running', gradual: { epochs: [], steps: [] } };
  const events: GradualEvent[] = [
    {
      type: 'schedule',
      schedule: {
        epochs: 4,
        batchesPerEpoch: 10,
        steps: [
          { k: 0, epoch: 0, sparsity: 0 },
          { k: 1, epoch: 1, sparsity: 0.5 },
        ],
      },
    },
    { type: 'stage', stage: 'train', done: 3, total: 10, step: 1, steps: 4 },
    {
      type: 'pruningStep',
      steps: 2,
      record: {
        k: 1,
        epoch: 1,
        target: 0.5,
        achieved: 0.5,
        layers: [],
        eval: { loss: 1, accuracy: 0.8, samples: 100 },
        damp: 1e-6,
        seconds: 2,
      },
    },
    { type: 'epoch', epochs: 4, record: epoch(1, 0.9) },
    { type: 'epoch', epochs: 4, record: epoch(2, 0.92) },
    { type: 'checkpoint', epoch: 2, path: '/out' },
    { type: 'epoch', epochs: 4, record: epoch(2, 0.93) }, // the same epoch again (a resumed run): replaced, not doubled
  ];
  for (const e of events) s = isGradualOnly(e) ? applyGradualEvent(s, e) : applyEvent(s, e);
  assert.equal(s.stage?.stage, 'train');
  assert.deepEqual(
    s.gradual!.schedule!.steps.map(x => x.sparsity),
    [0, 0.5],
  );
  assert.deepEqual(
    s.gradual!.epochs.map(e => [e.epoch, e.train.accuracy]),
    [
      [1, 0.9],
      [2, 0.93],
    ],
  );
  assert.deepEqual(s.gradual!.steps, [{ k: 1, epoch: 1, target: 0.5, achieved: 0.5, accuracy: 0.8, skipped: undefined }]);
  assert.equal(s.gradual!.checkpoint, 2);
  assert.equal(s.damp, 1e-6);
  assert.equal(s.after?.accuracy, 0.92, 'the latest eval is the panel\'s "after"');
});

test('a report.json restores the whole history; an unfinished one points at its checkpoint', () => {
  const report = {
    gradual: {
      finished: false,
      schedule: { epochs: 4, batchesPerEpoch: 10, steps: [] },
      epochs: [epoch(1, 0.9), epoch(2, 0.91)],
      steps: [{ k: 0, epoch: 0, target: 0, achieved: 0, layers: [], skipped: true, seconds: 0 }],
    },
  } as unknown as GradualReport;
  const v = gradualViewOf(report)!;
  assert.equal(v.checkpoint, 2);
  assert.equal(v.epochs.length, 2);
  assert.equal(v.steps[0].skipped, true);
  assert.equal(gradualViewOf({ ...report, gradual: { ...report.gradual, finished: true } } as GradualReport)!.checkpoint, undefined);
  assert.equal(gradualViewOf({} as GradualReport), undefined, 'a one-shot report has no gradual view');
});
