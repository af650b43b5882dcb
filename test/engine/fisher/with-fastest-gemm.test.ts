// The Fisher-inverse and OBS-update tests again, with every product on the native provider (onnxruntime-f64
// where onnxruntime-node is installed): the engine uses it for large blocks, so its precision must hold too.
import { test } from 'node:test';
import { useFastestGemm } from '../../../src/engine/linalg/fastest';

const provider = useFastestGemm('auto', 0);
if (provider === 'js') {
  test('Fisher tests on a native gemm provider', t => {
    t.skip('no native provider loads here (onnxruntime-node missing); the js runs cover the math');
  });
} else {
  /* eslint-disable @typescript-eslint/no-require-imports -- the suites register only where a native provider loads */
  require('./inverse.test');
  require('./tiny-damping.test');
  require('../obs/update.test');
}
