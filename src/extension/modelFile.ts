// Cheap reads of a TF.js model.json in the extension host: is it a layers-model, which layers does it have,
// where each layer sits in the text is modelOutline.ts. No TF.js here.
import * as path from 'node:path';
import { PRUNABLE_KINDS } from '../engine/types';
import { readInputText } from '../engine/files';

/** The host parses JSON on its own event loop (shared by every extension): larger files are left alone. */
export const MAX_HOST_JSON_BYTES = 64 * 1024 * 1024;

/** Layer classes the engine prunes (their kernel). */
export const PRUNABLE_CLASSES = new Set<string>(PRUNABLE_KINDS);

export interface ModelLayerInfo {
  name: string;
  className: string;
  prunable: boolean;
}
export interface ModelCheck {
  ok: true;
  layers: ModelLayerInfo[];
}
export interface ModelRefusal {
  ok: false;
  message: string;
}

export function isModelJsonPath(fsPath: string): boolean {
  return path.basename(fsPath).toLowerCase() === 'model.json';
}

/** Reads a model.json and refuses anything that is not a TF.js layers-model, with one clear sentence. */
export async function checkModelJson(fsPath: string): Promise<ModelCheck | ModelRefusal> {
  let text: string;
  try {
    text = await readInputText(fsPath, 'Model file', MAX_HOST_JSON_BYTES, 'MODEL_FORMAT');
  } catch (e) {
    return { ok: false, message: `${(e as Error).message}.` };
  }
  return checkModelText(text, fsPath);
}

export function checkModelText(text: string, fsPath: string): ModelCheck | ModelRefusal {
  const name = path.basename(path.dirname(fsPath)) + '/' + path.basename(fsPath);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: `${name} is not valid JSON.` };
  }
  if (!json || typeof json !== 'object') return { ok: false, message: `${name} is not a TensorFlow.js model.` };
  const m = json as { format?: unknown; modelTopology?: unknown; weightsManifest?: unknown };
  if (m.format === 'graph-model') {
    return {
      ok: false,
      message: `${name} is a TensorFlow.js graph model; WoodFisher needs a layers-model (tf.LayersModel.save / tensorflowjs_converter --output_format tfjs_layers_model).`,
    };
  }
  if (m.format !== undefined && m.format !== 'layers-model') {
    return { ok: false, message: `${name} has format "${String(m.format)}"; WoodFisher needs a TensorFlow.js layers-model.` };
  }
  if (!m.modelTopology || typeof m.modelTopology !== 'object') {
    return { ok: false, message: `${name} has no modelTopology; it is not a TensorFlow.js layers-model.` };
  }
  const layers = collectLayers(m.modelTopology);
  if (!layers.length) return { ok: false, message: `${name} describes no layers.` };
  return { ok: true, layers };
}

/** Layers in topology order, walking nested Sequential/Model configs. */
function collectLayers(topology: unknown): ModelLayerInfo[] {
  const out: ModelLayerInfo[] = [];
  const visit = (node: unknown) => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    const o = node as Record<string, unknown>;
    const cfg = o.config as Record<string, unknown> | undefined;
    if (typeof o.class_name === 'string' && cfg && typeof cfg === 'object') {
      if (Array.isArray(cfg)) {
        cfg.forEach(visit);
        return;
      } // old Keras Sequential: config is the layer list
      if (Array.isArray(cfg.layers)) {
        cfg.layers.forEach(visit);
        return;
      }
      if (typeof cfg.name === 'string' && o.class_name !== 'InputLayer') {
        out.push({ name: cfg.name, className: o.class_name, prunable: PRUNABLE_CLASSES.has(o.class_name) });
      }
      return;
    }
    if ('model_config' in o) visit(o.model_config);
    else if ('config' in o) visit(o.config);
  };
  visit((topology as Record<string, unknown>).model_config ?? topology);
  return out;
}
