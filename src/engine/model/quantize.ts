// The pipeline's last step before saving: choose each weight's encoding (the run's mode, a layer's override, or the
// input's own), encode, and put the values as TF.js will decode them back into the model so evaluation sees them.
import { tf } from '../backend';
import { type Encoding, type PruneOptions, type QuantizationReport, type QuantizeMode, type SizeFigures } from '../types';
import { encodingOf, type EncodedModel, type ManifestEntry } from './encode';
import { encodeLoaded, type LoadedModel } from './load';
import { modelFiles, sizeOf } from './size';

/** Layer of each weight, by the weight's saved name (e.g. 'block_1_expand_BN/gamma' → 'block_1_expand_BN'). */
function layerOfWeight(m: LoadedModel): Map<string, string> {
  const map = new Map<string, string>();
  for (const layer of m.model.layers) for (const w of layer.weights) map.set(w.originalName, layer.name);
  return map;
}

/** Encoding for each weight: the layer's override, else the run's mode; 'keep' = the input's encoding, 'none' = float32. */
export function chooseEncodings(
  m: LoadedModel,
  mode: QuantizeMode,
  layerModes: Record<string, QuantizeMode | undefined> = {},
): (spec: ManifestEntry) => Encoding {
  const layers = layerOfWeight(m);
  return spec => {
    const layer = layers.get(spec.name);
    const asked = (layer !== undefined ? layerModes[layer] : undefined) ?? mode;
    if (asked === 'keep') {
      const input = m.inputWeights.get(spec.name);
      return input ? encodingOf(input.spec) : 'float32';
    }
    return asked === 'none' ? 'float32' : asked;
  };
}

/** Encodes the model's weights for writing and makes the model hold exactly the values written. */
export async function quantizeForOutput(
  m: LoadedModel,
  mode: QuantizeMode,
  layerModes: Record<string, QuantizeMode | undefined> = {},
): Promise<EncodedModel> {
  const encoded = await encodeLoaded(m, chooseEncodings(m, mode, layerModes));
  const byName = new Map(encoded.weights.map(e => [e.name, e]));
  for (const v of m.model.weights) {
    const e = byName.get(v.originalName);
    if (!e?.written || e.maxError === 0) continue;
    const t = tf.tensor(e.written, e.spec.shape, 'float32');
    v.write(t); // Variable.assign shares t's data and adds a reference
    t.dispose();
  }
  return encoded;
}

/** The written model of a run: its encoding (the run's quantize and layer overrides), the error it introduced, and the
 *  sizes of the input's and the output's model.json + shards. The model holds the written values afterwards. */
export async function outputForRun(
  m: LoadedModel,
  o: Pick<PruneOptions, 'quantize' | 'layers'>,
): Promise<{ encoded: EncodedModel; quantization: QuantizationReport; size: { input: SizeFigures; output: SizeFigures } }> {
  const mode = o.quantize ?? 'keep';
  const encoded = await quantizeForOutput(m, mode, Object.fromEntries(Object.entries(o.layers ?? {}).map(([k, v]) => [k, v.quantize])));
  const [input, output] = await Promise.all([
    sizeOf(modelFiles(m.path)), // started at load instead, it overlapped the gradients but slowed them as much (docs/performance.md)
    sizeOf([new TextEncoder().encode(encoded.modelJson), ...encoded.shards.map(s => s.bytes)]),
  ]);
  const size = { input, output };
  return { encoded, quantization: quantizationReport(m, mode, encoded), size };
}

/** The report's view of an encoding: which encodings, and the error writing them introduced. */
export function quantizationReport(m: LoadedModel, mode: QuantizeMode, encoded: EncodedModel): QuantizationReport {
  const layers = layerOfWeight(m);
  const encodings: QuantizationReport['encodings'] = {};
  let error2 = 0,
    norm2 = 0,
    maxRel = 0;
  const weights = encoded.weights.map(e => {
    encodings[e.encoding] = (encodings[e.encoding] ?? 0) + 1;
    error2 += e.error2;
    norm2 += e.norm2;
    if (Number.isFinite(e.relError)) maxRel = Math.max(maxRel, e.relError);
    const input = m.inputWeights.get(e.name);
    return {
      name: e.name,
      layer: layers.get(e.name),
      from: input ? encodingOf(input.spec) : undefined,
      to: e.encoding,
      relError: e.relError,
      maxError: e.maxError,
      verbatim: e.verbatim,
    };
  });
  return { mode, encodings, relError: norm2 > 0 ? Math.sqrt(error2 / norm2) : 0, maxRelError: maxRel, weights };
}
