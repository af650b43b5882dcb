// The layers of a model.json as a tree with exact text offsets (jsonc-parser keeps them, so a converter's one-line
// file works as well as a formatted one), each layer's weight tensors from the weightsManifest, and a readable
// pretty-print of the whole file. Pure: no vscode, no TF.js (used by the outline, the lenses and the read-only view).
import * as jsonc from 'jsonc-parser';
import { PRUNABLE_CLASSES } from './modelFile';

export interface WeightTensor {
  name: string;
  shape: number[];
  size: number;
}

export interface OutlineLayer {
  name: string;
  className: string;
  prunable: boolean;
  offset: number; // the layer's `{ "class_name": …, "config": … }` object
  length: number;
  nameOffset: number; // its `"name": "<layer>"` property
  nameLength: number;
  weights: WeightTensor[];
  params: number; // Σ sizes of its weight tensors
  children: OutlineLayer[]; // layers of a nested Sequential/Model
}

export interface ModelOutline {
  name: string; // modelTopology's model name, or 'model'
  offset: number; // the modelTopology value
  length: number;
  layers: OutlineLayer[];
  params: number;
}

/** Layers in topology order (nested models as parents), or undefined when the text has no modelTopology. */
export function outlineModel(text: string): ModelOutline | undefined {
  const root = jsonc.parseTree(text);
  const topology = root && jsonc.findNodeAtLocation(root, ['modelTopology']);
  if (!root || !topology || topology.type !== 'object') return undefined;
  const tensors = weightTensors(root);
  const walk = (node: jsonc.Node): OutlineLayer[] => {
    if (node.type === 'object') {
      const cls = jsonc.findNodeAtLocation(node, ['class_name']);
      const nameNode = jsonc.findNodeAtLocation(node, ['config', 'name']);
      if (cls?.type === 'string' && nameNode?.type === 'string') {
        const nested = jsonc.findNodeAtLocation(node, ['config', 'layers']);
        const children = nested ? walk(nested) : [];
        if (cls.value === 'InputLayer') return [];
        const prop = nameNode.parent ?? nameNode; // the `"name": "…"` property
        const weights = nested ? [] : (tensors.get(nameNode.value) ?? []);
        return [
          {
            name: nameNode.value,
            className: cls.value,
            prunable: !nested && PRUNABLE_CLASSES.has(cls.value),
            offset: node.offset,
            length: node.length,
            nameOffset: prop.offset,
            nameLength: prop.length,
            weights,
            params: nested ? sum(children.map(c => c.params)) : sum(weights.map(w => w.size)),
            children,
          },
        ];
      }
    }
    return (node.children ?? []).flatMap(walk);
  };
  const modelConfig = jsonc.findNodeAtLocation(topology, ['model_config']) ?? topology;
  const top = walk(modelConfig);
  // The whole model is usually one Sequential/Model: show its layers at the top level, named after it.
  const single = top.length === 1 && top[0].children.length ? top[0] : undefined;
  const layers = single ? single.children : top;
  return {
    name: single?.name ?? 'model',
    offset: topology.offset,
    length: topology.length,
    layers,
    params: sum(layers.map(l => l.params)),
  };
}

/** Every layer of the outline, depth first (nested models' layers in place of the nested model). */
export function flatLayers(o: ModelOutline | undefined): OutlineLayer[] {
  const out: OutlineLayer[] = [];
  const visit = (l: OutlineLayer) => {
    if (l.children.length) l.children.forEach(visit);
    else out.push(l);
  };
  o?.layers.forEach(visit);
  return out;
}

/** weightsManifest tensors grouped by the layer they belong to (`<layer>/kernel`, `<outer>/<layer>/bias`, …). */
function weightTensors(root: jsonc.Node): Map<string, WeightTensor[]> {
  const byLayer = new Map<string, WeightTensor[]>();
  const manifest = jsonc.findNodeAtLocation(root, ['weightsManifest']);
  for (const group of manifest?.type === 'array' ? (manifest.children ?? []) : []) {
    const list = jsonc.findNodeAtLocation(group, ['weights']);
    for (const w of list?.type === 'array' ? (list.children ?? []) : []) {
      const value = jsonc.getNodeValue(w) as { name?: unknown; shape?: unknown };
      if (typeof value?.name !== 'string' || !Array.isArray(value.shape)) continue;
      const shape = value.shape.filter((d): d is number => typeof d === 'number');
      const parts = value.name.split('/');
      const layer = parts.length > 1 ? parts[parts.length - 2] : parts[0];
      const t = { name: value.name, shape, size: shape.reduce((a, b) => a * b, 1) };
      byLayer.set(layer, [...(byLayer.get(layer) ?? []), t]);
    }
  }
  return byLayer;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/**
 * JSON with two-space indentation, where an array or object of scalars that fits in `width` columns stays on
 * one line (shapes, strides, initializer configs): a converter's one-line model.json becomes readable.
 */
export function prettyJson(value: unknown, width = 100): string {
  const render = (v: unknown, indent: string): string => {
    if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
    const entries = Array.isArray(v) ? v.map(x => ['', x] as const) : Object.entries(v as Record<string, unknown>);
    const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
    if (!entries.length) return open + close;
    const key = (k: string) => (Array.isArray(v) ? '' : `${JSON.stringify(k)}: `);
    // scalars only (or, for arrays, any nesting such as inbound_nodes) stay on one line when they fit
    const flat =
      Array.isArray(v) ||
      entries.every(
        ([, x]) => x === null || typeof x !== 'object' || (Array.isArray(x) ? x.length === 0 : Object.keys(x as object).length === 0),
      );
    if (flat && indent.length + JSON.stringify(v).length <= width) {
      // cheap bound first: no quadratic retries
      const line = `${open}${entries.map(([k, x]) => key(k) + render(x, '')).join(', ')}${close}`;
      if (indent.length + line.length <= width && !line.includes('\n')) return line;
    }
    const inner = indent + '  ';
    return `${open}\n${entries.map(([k, x]) => inner + key(k) + render(x, inner)).join(',\n')}\n${indent}${close}`;
  };
  return render(value, '') + '\n';
}
