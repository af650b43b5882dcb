// Test helpers: small real TF.js models written to temp folders the way TF.js' own file saver lays them out.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../../../src/engine/backend';

export function tempDir(prefix = 'wf-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes model.json + weights.bin into dir; returns the model.json path. */
export async function writeLayersModel(model: tf.LayersModel, dir: string, shard = 'weights.bin'): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  let art: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async a => {
      art = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const json = {
    format: 'layers-model',
    generatedBy: 'test',
    convertedBy: null,
    modelTopology: art!.modelTopology,
    weightsManifest: [{ paths: [shard], weights: art!.weightSpecs }],
  };
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  fs.writeFileSync(path.join(dir, shard), new Uint8Array(tf.io.CompositeArrayBuffer.join(art!.weightData!)));
  return path.join(dir, 'model.json');
}

/** Reads a model folder back with plain tf.loadLayersModel (an independent loader for round-trip checks). */
export async function tfLoad(modelJson: string): Promise<tf.LayersModel> {
  const json = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  const dir = path.dirname(modelJson);
  const bufs = json.weightsManifest.flatMap((g: any) => g.paths.map((p: string) => fs.readFileSync(path.join(dir, p))));
  const data = new Uint8Array(Buffer.concat(bufs)).buffer;
  const specs = json.weightsManifest.flatMap((g: any) => g.weights);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: data }));
}

export function mlp(sizes: number[], opts: { softmax?: boolean; bias?: boolean; seed?: number } = {}): tf.Sequential {
  const m = tf.sequential();
  for (let i = 1; i < sizes.length; i++) {
    const last = i === sizes.length - 1;
    m.add(
      tf.layers.dense({
        units: sizes[i],
        inputShape: i === 1 ? [sizes[0]] : undefined,
        useBias: opts.bias ?? true,
        activation: last ? (opts.softmax === false ? 'linear' : 'softmax') : 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: (opts.seed ?? 1) + i }),
        biasInitializer: tf.initializers.randomNormal({ stddev: 0.1, seed: (opts.seed ?? 1) + 100 + i }),
      }),
    );
  }
  return m;
}

export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}
