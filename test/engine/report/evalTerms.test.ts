// Unlabeled evaluation data is scored against the dense model: every place that shows the two numbers says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evalTerms } from '../../../src/engine/report/evalTerms';

test('labels: accuracy and loss; no labels: agreement with the dense model and KL to it', () => {
  assert.deepEqual(evalTerms({ reference: 'labels' }), { score: 'accuracy', loss: 'loss', against: '' });
  assert.deepEqual(evalTerms({}), { score: 'accuracy', loss: 'loss', against: '' }, 'reports before reference existed had labels');
  assert.deepEqual(evalTerms(undefined), { score: 'accuracy', loss: 'loss', against: '' });
  assert.deepEqual(evalTerms({ reference: 'dense' }), { score: 'agreement', loss: 'KL', against: 'no labels: against the dense model' });
});
