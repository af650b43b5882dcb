// Load and save TF.js layers-models from disk: manifest paths confined to the model's folder, shards checked, atomic output.
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../backend';
import { PRUNABLE_KINDS, WoodFisherError, type PrunableKind, type PrunableLayer } from '../types';
import { torchShape, toTorch, fromTorch } from './layout';
import { inputFileSize, readInputFile } from '../files';
import {
  encodeModel,
  encodingOf,
  type EncodedModel,
  type Encoding,
  type InputWeight,
  type ManifestEntry,
  type WeightValues,
} from './encode';
import { keras2Topology } from './keras3';
import type { OutputClaim } from '../output/claim';

export interface LoadedModel {
  model: tf.LayersModel;
  path: string; // model.json (absolute)
  dir: string; // its folder (absolute, symlinks resolved)
  json: any; // the parsed model.json
  prunable: PrunableLayer[];
  inputShape: number[]; // per sample, without batch (-1 where the model leaves a dimension free)
  numClasses: number;
  outputIsProbability: boolean; // the last activation is softmax
  inputWeights: Map<string, InputWeight>; // each weight's manifest entry and bytes as read (its encoding is kept by default)
}

/** model.json holds the topology and the manifest, never weights: far below this. */
const MAX_MODEL_JSON = 256 * 1024 * 1024;
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

function specBytes(spec: tf.io.WeightsManifestEntry, modelPath: string): number {
  const bad = (why: string) =>
    new WoodFisherError(
      `${path.basename(modelPath)}: weight entry ${typeof spec?.name === 'string' ? `'${spec.name}'` : JSON.stringify(spec)?.slice(0, 80)} ${why}.`,
      'MODEL_FORMAT',
      { file: modelPath },
    );
  if (typeof spec !== 'object' || spec === null || typeof spec.name !== 'string') throw bad('has no name');
  if (!Array.isArray(spec.shape) || !spec.shape.every(d => Number.isSafeInteger(d) && d >= 0))
    throw bad('has no valid shape (a list of whole numbers)');
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const dt = spec.quantization?.dtype ?? spec.dtype;
  const b = DTYPE_BYTES[dt];
  if (b === undefined) throw new WoodFisherError(`Weight '${spec.name}' has unsupported dtype '${dt}'.`, 'MODEL_FORMAT');
  return n * b;
}

/** Resolves a manifest path strictly inside the model folder: no URLs, absolute paths or '..'. */
export function confinedPath(dir: string, p: string, modelPath: string): string {
  const bad = (why: string) =>
    new WoodFisherError(`Weight path '${p}' in ${modelPath} ${why}; weight files must sit inside the model's folder.`, 'MODEL_PATH', {
      file: modelPath,
    });
  if (typeof p !== 'string' || p.length === 0) throw bad('is empty');
  if (/^[a-z][a-z0-9+.-]*:/i.test(p) || p.startsWith('//')) throw bad('is a URL');
  if (path.isAbsolute(p) || path.win32.isAbsolute(p)) throw bad('is absolute');
  if (p.split(/[\\/]+/).includes('..')) throw bad("climbs out with '..'");
  const full = path.resolve(dir, p);
  const rel = path.relative(dir, full);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw bad('leaves the folder');
  if (fs.existsSync(full)) {
    const real = fs.realpathSync(full);
    const relReal = path.relative(dir, real);
    if (relReal.startsWith('..') || path.isAbsolute(relReal)) throw bad('is a link leading out of the folder');
  }
  return full;
}

function readManifest(
  json: any,
  dir: string,
  modelPath: string,
): { specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer; inputs: Map<string, InputWeight> } {
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) throw new WoodFisherError(`${modelPath} has no weightsManifest.`, 'MODEL_FORMAT', { file: modelPath });
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  const names = new Set<string>();
  for (const group of manifest) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights))
      throw new WoodFisherError(`${modelPath}: malformed weightsManifest entry.`, 'MODEL_FORMAT', { file: modelPath });
    const files = group.paths.map((p: string) => confinedPath(dir, p, modelPath));
    const expected = group.weights.reduce((a: number, s: tf.io.WeightsManifestEntry) => a + specBytes(s, modelPath), 0);
    for (const w of group.weights as tf.io.WeightsManifestEntry[]) {
      if (names.has(w.name))
        throw new WoodFisherError(
          `${path.basename(modelPath)}: weight '${w.name}' is listed twice in the weightsManifest.`,
          'MODEL_FORMAT',
          { file: modelPath },
        );
      names.add(w.name);
    }
    // Sizes on disk against the manifest before a byte is read: a manifest cannot make us allocate what is not there.
    let actual = 0;
    for (const f of files) {
      if (!fs.existsSync(f))
        throw new WoodFisherError(
          `Weight shard '${path.basename(f)}' is missing (expected beside ${path.basename(modelPath)}, in ${dir}).`,
          'MODEL_SHARD',
          { file: f },
        );
      actual += inputFileSize(f, 'Weight shard', 'MODEL_SHARD');
    }
    if (actual !== expected) {
      const names = group.paths.join(', ');
      throw new WoodFisherError(
        `Weight shard${files.length > 1 ? 's' : ''} '${names}' ${actual < expected ? 'truncated' : 'too long'}: expected ${expected} bytes for ${group.weights.length} weights, found ${actual}.`,
        'MODEL_SHARD',
        { file: files[files.length - 1] },
      );
    }
    const bufs = files.map((f: string) => readInputFile(f, 'Weight shard', Number.MAX_SAFE_INTEGER, 'MODEL_SHARD'));
    parts.push(...bufs);
    specs.push(...group.weights);
  }
  const total = parts.reduce((a, b) => a + b.length, 0);
  const data = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  const inputs = new Map<string, InputWeight>();
  o = 0;
  for (const spec of specs) {
    const n = specBytes(spec, modelPath);
    inputs.set(spec.name, { spec, bytes: data.subarray(o, o + n) });
    o += n;
  }
  return { specs, data: data.buffer, inputs };
}

function classOf(layer: tf.layers.Layer): string {
  return layer.getClassName();
}

function lastIsSoftmax(model: tf.LayersModel): boolean {
  const out = model.outputs[0]?.sourceLayer as any;
  if (!out) return false;
  const cls = classOf(out);
  if (cls === 'Softmax') return true;
  return out.activation?.getClassName?.() === 'softmax';
}

/** Loads a TF.js layers-model (Sequential or functional) from a model.json on disk. */
export async function loadModel(modelJsonPath: string): Promise<LoadedModel> {
  const file = path.resolve(modelJsonPath);
  const text = readInputFile(file, 'Model file', MAX_MODEL_JSON, 'MODEL_FORMAT').toString('utf8');
  const dir = fs.realpathSync(path.dirname(file));
  let json: any;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new WoodFisherError(`${file} is not valid JSON (${(e as Error).message}).`, 'MODEL_FORMAT', { file });
  }
  const topo = json?.modelTopology;
  const format = json?.format ?? (topo && (topo.class_name || topo.model_config) ? 'layers-model' : undefined);
  if (format === 'graph-model' || (topo && Array.isArray(topo.node))) {
    throw new WoodFisherError(
      `${path.basename(file)} is a TF.js graph-model; only layers-models can be pruned (convert the Keras model with tensorflowjs_converter --output_format tfjs_layers_model).`,
      'MODEL_FORMAT',
      { file },
    );
  }
  if (format !== 'layers-model' || !topo)
    throw new WoodFisherError(
      `${path.basename(file)} is not a TF.js layers-model (format: ${json?.format ?? 'missing'}).`,
      'MODEL_FORMAT',
      { file },
    );
  const { specs, data, inputs } = readManifest(json, dir, file);
  let readable: any;
  try {
    readable = keras2Topology(topo).topology;
  } catch (e) {
    if (e instanceof WoodFisherError) throw new WoodFisherError(`${path.basename(file)}: ${e.message}`, e.code, { file });
    throw e;
  }
  let model: tf.LayersModel;
  try {
    // trainingConfig is left out: a custom loss must not stop us; saveModel writes it back.
    model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: readable,
        weightSpecs: specs,
        weightData: data,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
      }),
    );
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    const unknown = /Unknown (layer|activation|initializer|regularizer|constraint|object)[^:]*: ([\w.-]+)/i.exec(msg);
    if (unknown)
      throw new WoodFisherError(
        `TF.js cannot deserialize ${unknown[1]} '${unknown[2]}' in ${path.basename(file)}; this layer type is not supported.`,
        'UNSUPPORTED_LAYER',
        { file },
      );
    throw new WoodFisherError(`Could not load ${path.basename(file)}: ${msg.split('\n')[0]}`, 'MODEL_FORMAT', { file });
  }
  try {
    if (model.inputs.length !== 1 || model.outputs.length !== 1) {
      throw new WoodFisherError(
        `Models with ${model.inputs.length} inputs and ${model.outputs.length} outputs are not supported (one input, one classifier output).`,
        'MODEL_FORMAT',
        { file },
      );
    }
    for (const w of model.weights) {
      const v = w.read().dataSync();
      for (let i = 0; i < v.length; i++)
        if (!Number.isFinite(v[i])) {
          throw new WoodFisherError(
            `Weight '${w.originalName}' contains ${Number.isNaN(v[i]) ? 'NaN' : 'Inf'} (element ${i}).`,
            'MODEL_NAN',
            { file },
          );
        }
    }
    const prunable: PrunableLayer[] = [];
    for (const layer of model.layers) {
      const kind = classOf(layer) as PrunableKind;
      if (!PRUNABLE_KINDS.includes(kind) || layer.weights.length === 0) continue;
      const k = layer.weights[0];
      const shape = k.shape.slice() as number[];
      prunable.push({
        name: layer.name,
        kind,
        weightName: k.originalName,
        shape,
        torchShape: torchShape(kind, shape),
        size: shape.reduce((a, b) => a * b, 1),
      });
    }
    const inShape = model.inputs[0].shape.slice(1).map(d => d ?? -1);
    const outShape = model.outputs[0].shape;
    return {
      model,
      path: file,
      dir,
      json,
      prunable,
      inputShape: inShape,
      numClasses: outShape[outShape.length - 1] ?? -1,
      outputIsProbability: lastIsSoftmax(model),
      inputWeights: inputs,
    };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

function kernelVar(m: LoadedModel, layer: PrunableLayer): tf.LayerVariable {
  const l = m.model.getLayer(layer.name);
  const v = l.weights[0];
  if (!v || v.shape.join() !== layer.shape.join())
    throw new WoodFisherError(`Layer '${layer.name}' has no kernel of shape [${layer.shape}].`, 'MODEL_FORMAT');
  return v;
}

/** The layer's kernel in PyTorch order (float64). */
export function readKernel(m: LoadedModel, layer: PrunableLayer): Float64Array {
  // read() returns the variable itself: read it, never dispose it.
  return toTorch(layer.kind, layer.shape, kernelVar(m, layer).read().dataSync() as Float32Array);
}

/** Replaces the layer's kernel with PyTorch-ordered values; the bias is untouched. */
export function writeKernel(m: LoadedModel, layer: PrunableLayer, torchValues: ArrayLike<number>): void {
  const v = kernelVar(m, layer);
  const t = tf.tensor(fromTorch(layer.kind, layer.shape, torchValues), layer.shape, 'float32');
  v.write(t); // Variable.assign shares t's data and adds a reference
  t.dispose();
}

/** The model's weights as TF.js saves them (manifest order, float32 values) and the model.json fields around them. */
export async function currentWeights(
  m: LoadedModel,
): Promise<{ weights: WeightValues[]; json: { modelTopology: unknown; [k: string]: unknown } }> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await m.model.save(
    tf.io.withSaveHandler(async a => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts?.weightData || !artifacts.weightSpecs) throw new WoodFisherError('TF.js produced no weights while saving.', 'OUTPUT');
  const data = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  const weights: WeightValues[] = [];
  let o = 0;
  for (const spec of artifacts.weightSpecs) {
    const n = specBytes(spec, m.path);
    const raw = data.slice(o, o + n);
    weights.push({ spec, raw, values: spec.dtype === 'float32' ? new Float32Array(raw.buffer) : null });
    o += n;
  }
  const { weightsManifest: _w, modelTopology: _t, ...rest } = m.json;
  const json = {
    ...rest,
    format: 'layers-model',
    generatedBy: artifacts.generatedBy ?? rest.generatedBy,
    convertedBy: rest.convertedBy ?? null,
    modelTopology: artifacts.modelTopology,
  };
  return { weights, json };
}

/** Encodes the model's current weights, each with the encoding `choose` gives it (the input's own bytes where unchanged). */
export async function encodeLoaded(m: LoadedModel, choose: (spec: ManifestEntry) => Encoding): Promise<EncodedModel> {
  const { weights, json } = await currentWeights(m);
  return encodeModel(weights, choose, json, m.inputWeights);
}

/** Each weight in the encoding it had in the input (float32 for weights the input did not have). */
export function keepInputEncoding(m: LoadedModel): (spec: ManifestEntry) => Encoding {
  return spec => {
    const input = m.inputWeights.get(spec.name);
    return input ? encodingOf(input.spec) : 'float32';
  };
}

/**
 * Writes model.json + shards (+ extraFiles) into the claimed output: a staging folder swapped in whole on commit
 * (src/engine/output/claim.ts), so the old or the new complete result exists at every instant. Returns model.json's path.
 * `encoded` is what model/encode.ts made of the weights; without it, each weight keeps its input encoding.
 */
export async function saveModel(
  m: LoadedModel,
  out: OutputClaim,
  extraFiles: Record<string, string | Uint8Array> = {},
  encoded?: EncodedModel,
): Promise<string> {
  for (const name of Object.keys(extraFiles)) {
    if (name !== path.basename(name) || name === 'model.json' || name.startsWith('.'))
      throw new WoodFisherError(`Extra output file name '${name}' is not a plain file name.`, 'OUTPUT');
  }
  const enc = encoded ?? (await encodeLoaded(m, keepInputEncoding(m)));
  try {
    const dir = out.stage();
    await fs.promises.writeFile(path.join(dir, 'model.json'), enc.modelJson);
    for (const shard of enc.shards) await fs.promises.writeFile(path.join(dir, shard.name), shard.bytes);
    for (const [name, content] of Object.entries(extraFiles)) await fs.promises.writeFile(path.join(dir, name), content);
    await out.commit();
  } catch (e) {
    if (e instanceof WoodFisherError) throw e;
    throw new WoodFisherError(
      `Could not write the output to ${out.dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      'OUTPUT',
      { path: out.dir },
    );
  }
  return path.join(out.dir, 'model.json');
}
