// Keras 3 topologies (what tensorflowjs_converter writes from Keras ≥ 3) rewritten into the Keras 2 form TF.js 4.x
// reads (tensorflow/tfjs#8328, #8494): `batch_shape` → `batch_input_shape`; DTypePolicy objects → their dtype name;
// `module` / `registered_name` wrappers dropped; `inbound_nodes` of {args, kwargs} with __keras_tensor__ entries →
// [[layer, node, tensor, kwargs]]. Settings TF.js would silently ignore (grouped convs, LoRA, a ReLU's slope or
// threshold, mixed-precision policies) are refused with the reason instead.
import { WoodFisherError } from '../types';

export interface Keras3Result {
  topology: any;
  rewritten: string[];
}

const WRAPPER_KEYS = ['module', 'registered_name'];

/** A copy of the topology in the form TF.js reads, and what was rewritten (empty for a Keras 2 topology). */
export function keras2Topology(topology: any): Keras3Result {
  const rewritten = new Set<string>();
  const topo = structuredClone(topology);
  const modelConfig = topo?.model_config ?? topo;
  walkModel(modelConfig, rewritten);
  return { topology: topo, rewritten: [...rewritten] };
}

function walkModel(model: any, rewritten: Set<string>): void {
  if (!model || typeof model !== 'object') return;
  stripWrapper(model, rewritten);
  const cfg = model.config;
  const layers: any[] | undefined = Array.isArray(cfg) ? cfg : cfg?.layers; // Keras 2 Sequential: config is the list
  if (!Array.isArray(layers)) return;
  for (const layer of layers) {
    stripWrapper(layer, rewritten);
    if (layer.build_config !== undefined) {
      delete layer.build_config;
      rewritten.add('build_config');
    }
    if (layer.compile_config !== undefined) {
      delete layer.compile_config;
      rewritten.add('compile_config');
    }
    if (Array.isArray(layer.inbound_nodes)) layer.inbound_nodes = layer.inbound_nodes.map((n: any) => inboundNode(n, layer, rewritten));
    if (layer.config?.layers) {
      walkModel(layer, rewritten);
      continue;
    } // a nested model
    layerConfig(layer, rewritten);
  }
}

/** Strips `module` / `registered_name` from an object with a class_name and everything nested in it. */
function stripWrapper(o: any, rewritten: Set<string>): void {
  if (!o || typeof o !== 'object') return;
  if (Array.isArray(o)) {
    o.forEach(v => stripWrapper(v, rewritten));
    return;
  }
  if ('class_name' in o) {
    for (const k of WRAPPER_KEYS)
      if (k in o) {
        delete o[k];
        rewritten.add('module/registered_name wrappers');
      }
  }
  for (const [k, v] of Object.entries(o)) {
    if (k === 'layers' || k === 'inbound_nodes') continue; // walked by walkModel
    if (k === 'dtype' && v && typeof v === 'object') {
      o[k] = dtypeName(v, `'${o.name ?? 'a layer'}'`, rewritten);
      continue;
    }
    if (v && typeof v === 'object') stripWrapper(v, rewritten);
  }
}

function dtypeName(d: any, where: string, rewritten: Set<string>): string {
  if (typeof d === 'string' || d == null) return d;
  const name = d?.config?.name ?? d?.name;
  if (typeof name !== 'string') throw refuse(where, `has a dtype TF.js cannot read (${JSON.stringify(d).slice(0, 80)})`);
  if (name !== 'float32' && name !== 'int32')
    throw refuse(where, `uses the dtype policy '${name}'; TF.js computes in float32 only (convert the model with the float32 policy)`);
  rewritten.add('DTypePolicy objects');
  return name;
}

function layerConfig(layer: any, rewritten: Set<string>): void {
  const c = layer.config;
  if (!c || typeof c !== 'object') return;
  const where = `layer '${c.name ?? layer.name}' (${layer.class_name})`;
  if (c.dtype !== undefined) c.dtype = dtypeName(c.dtype, where, rewritten);
  if (layer.class_name === 'InputLayer' && c.batch_shape !== undefined) {
    if (c.batch_input_shape === undefined) c.batch_input_shape = c.batch_shape;
    delete c.batch_shape;
    rewritten.add('batch_shape');
  }
  if (c.groups !== undefined && c.groups !== 1)
    throw refuse(where, `is a grouped convolution (groups: ${c.groups}), which TF.js does not implement`);
  if (c.lora_rank != null) throw refuse(where, 'has LoRA weights (lora_rank); merge them into the kernel before converting');
  if (layer.class_name === 'ReLU' && ((c.negative_slope ?? 0) !== 0 || (c.threshold ?? 0) !== 0)) {
    throw refuse(where, "has a negative slope or threshold, which TF.js' ReLU ignores");
  }
}

/** One inbound node: Keras 3 {args: [tensor | [tensors]], kwargs} → Keras 2 [[layer, node, tensor, kwargs], …]. */
function inboundNode(node: any, layer: any, rewritten: Set<string>): any {
  if (Array.isArray(node)) return node; // already Keras 2
  if (!node || typeof node !== 'object' || !Array.isArray(node.args))
    throw refuse(`layer '${layer.name}'`, 'has an inbound node TF.js cannot read');
  rewritten.add('inbound_nodes');
  const tensors: any[] = [];
  const collect = (a: any) => {
    if (Array.isArray(a)) a.forEach(collect);
    else if (a?.class_name === '__keras_tensor__') tensors.push(a);
  };
  node.args.forEach(collect);
  const kwargs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node.kwargs ?? {})) {
    if (v && typeof v === 'object' && JSON.stringify(v).includes('__keras_tensor__'))
      throw refuse(`layer '${layer.name}'`, `takes a tensor as keyword argument '${k}' (e.g. a mask)`);
    kwargs[k] = v;
  }
  if (tensors.length === 0) throw refuse(`layer '${layer.name}'`, 'has an inbound node without input tensors');
  return tensors.map(t => {
    const h = t.config?.keras_history;
    if (!Array.isArray(h) || h.length !== 3) throw refuse(`layer '${layer.name}'`, 'has an input without keras_history');
    return [h[0], h[1], h[2], kwargs];
  });
}

function refuse(where: string, why: string): WoodFisherError {
  return new WoodFisherError(`Keras 3 topology: ${where} ${why}.`, 'UNSUPPORTED_LAYER');
}
