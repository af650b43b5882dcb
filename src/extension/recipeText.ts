// Recipe YAML written by the extension: from a run's answers, or a commented starter for `New Recipe`.
import * as path from 'node:path';
import { METHOD_NAMES } from '../engine/types';
import { parseDocument } from 'yaml';
import * as jsonc from 'jsonc-parser';
import type { PruneOptions } from '../protocol';

const q = (s: string) => JSON.stringify(s); // a JSON string is a valid YAML scalar
function rel(from: string, p: string): string {
  const r = path.relative(from, p).split(path.sep).join('/');
  return r.startsWith('.') ? r : `./${r}`;
}

export function recipeYaml(o: PruneOptions, dir: string): string {
  const lines = [
    '# WoodFisher recipe (saved from the answers of "Prune with WoodFisher"). Paths are relative to this file.',
    `model: ${q(rel(dir, o.modelPath))}`,
  ];
  if (o.dataPath) {
    if (o.labelsPath) lines.push('data:', `  inputs: ${q(rel(dir, o.dataPath))}`, `  labels: ${q(rel(dir, o.labelsPath))}`);
    else lines.push(`data: ${q(rel(dir, o.dataPath))}`);
  }
  lines.push(
    `method: ${o.method}`,
    ...(o.structure === 'neurons' ? ['structure: neurons'] : []),
    `sparsity: ${o.sparsity}`,
    ...(o.pattern ? [`pattern: "${o.pattern}"`] : []),
    `samples: ${o.samples}`,
    `damp: ${o.damp}`,
    `blockSize: ${o.blockSize}`,
    `scope: ${o.scope}`,
    `update: ${o.update}`,
    `output: ${q(rel(dir, o.outDir))}`,
    '',
  );
  return lines.join('\n');
}

export function starterRecipe(modelPath: string, dir: string, prunable: string[], dataGuess?: { inputs: string; labels?: string }): string {
  const layerLines = prunable.length
    ? prunable.map((n, i) =>
        i === 0 ? `#  ${n}: { sparsity: 0.5 }      # this layer gets its own target` : `#  ${n}: { exclude: true }     # left dense`,
      )
    : ['#  some_layer: { exclude: true }'];
  const data = dataGuess
    ? [
        'data:',
        `  inputs: ${q(rel(dir, dataGuess.inputs))}`,
        ...(dataGuess.labels
          ? [`  labels: ${q(rel(dir, dataGuess.labels))}`]
          : [`#  labels: ./labels.npy        # optional; without labels they are sampled from the model`]),
      ]
    : [
        'data:',
        '  inputs: ./calibration-x.npy     # .npy inputs (first axis = samples) or one .npz with x and y',
        '#  labels: ./calibration-y.npy   # optional class indices or one-hot rows',
      ];
  return [
    '# WoodFisher pruning recipe. Paths are relative to this file.',
    '# Run it: right-click model.json → "Prune with WoodFisher", or `woodfisher prune woodfisher.yaml`.',
    `model: ${q(rel(dir, modelPath))}`,
    '',
    '# Calibration data for the empirical Fisher.',
    ...data,
    'samples: 256          # N: per-sample loss gradients',
    '',
    `method: woodfisher    # ${METHOD_NAMES.join(' | ')}`,
    'sparsity: 0.9         # fraction of the prunable weights set to zero, in [0, 1)',
    'damp: 1e-5            # lambda in F = lambda*I + (1/N) sum g g^T',
    'blockSize: 1000       # weights per Fisher block (PyTorch layout); blocks never span layers',
    'scope: global         # global: one threshold over all layers | layer: every layer gets the target',
    'update: independent   # OBS update: independent (paper) | joint | none (mask only)',
    'recompute: 1          # sub-steps with gradients and inverses re-estimated each time',
    '# structure: neurons   # remove whole units (neurons, filters): a smaller, faster model; sparsity = fraction of units',
    '# targetFlops: 0.5     # with structure: neurons, remove units until FLOPs <= this fraction (instead of sparsity)',
    '',
    '# Per-layer overrides (layer names as in model.json):',
    '# layers:',
    ...layerLines,
    '',
    '# Held-out data for accuracy and loss before and after:',
    '# eval:',
    '#   inputs: ./test-x.npy',
    '#   labels: ./test-y.npy',
    '',
    `output: ${q(rel(dir, path.join(path.dirname(dir), `${path.basename(dir)}-pruned`)))}`,
    '',
  ].join('\n');
}

/**
 * The recipe text with `layers: { <layer>: { sparsity } }` set (and that layer's `exclude` removed): YAML through the
 * `yaml` Document API (comments kept), JSON through jsonc-parser's modify (formatting kept).
 */
export function withLayerOverride(text: string, fileName: string, layer: string, sparsity: number): string {
  const value = Number(sparsity.toFixed(4));
  if (/\.json$/i.test(fileName)) {
    const options = { formattingOptions: { insertSpaces: true, tabSize: 2, eol: text.includes('\r\n') ? '\r\n' : '\n' } };
    let out = jsonc.applyEdits(text, jsonc.modify(text, ['layers', layer, 'sparsity'], value, options));
    out = jsonc.applyEdits(out, jsonc.modify(out, ['layers', layer, 'exclude'], undefined, options));
    return out;
  }
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`${path.basename(fileName)} has a YAML error: ${doc.errors[0].message.split('\n')[0]}`);
  doc.setIn(['layers', layer, 'sparsity'], value);
  if (doc.hasIn(['layers', layer, 'exclude'])) doc.deleteIn(['layers', layer, 'exclude']);
  return doc.toString();
}
