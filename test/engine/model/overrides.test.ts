// Layer overrides name layers of the model: prune, gradual and structured runs share this one check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLayerOverrides } from '../../../src/engine/model/overrides';
import type { LoadedModel } from '../../../src/engine/model/load';
import { WoodFisherError } from '../../../src/engine/types';

// Only the names matter to the check: dense_1 and dense_2 are prunable, batch_norm is a layer without a kernel to prune.
const model = {
  prunable: [{ name: 'dense_1' }, { name: 'dense_2' }],
  model: { layers: [{ name: 'input' }, { name: 'dense_1' }, { name: 'batch_norm' }, { name: 'dense_2' }] },
} as unknown as LoadedModel;

test('sparsity, exclusion and caps of prunable layers pass; an encoding may name any layer', () => {
  checkLayerOverrides(
    { dense_1: { sparsity: 0.5 }, dense_2: { exclude: true, maxSparsity: 1 }, batch_norm: { quantize: 'float16' } },
    model,
  );
});

test('a sparsity, cap or exclusion of a layer that is not prunable is refused with the prunable names', () => {
  for (const ov of [{ sparsity: 0.5 }, { maxSparsity: 1 }, { exclude: true }]) {
    assert.throws(
      () => checkLayerOverrides({ batch_norm: ov }, model),
      (e: unknown) =>
        e instanceof WoodFisherError &&
        e.code === 'OPTIONS' &&
        e.message === 'layer "batch_norm" named in the layer overrides is not a prunable layer of the model (prunable: dense_1, dense_2)',
    );
  }
  assert.throws(() => checkLayerOverrides({ dense_9: { quantize: 'uint8' } }, model), /layer "dense_9" named in the layer overrides/);
});
