// woodfisher inspect <model.json>: prunable layers and the memory plan for the given settings.
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { loadPruneModule } from '../engine';
import { formatBytes } from '../../engine/report/bytes';
import { formatTable } from '../../engine/report/table';
import type { PruneOptions } from '../../engine/types';
import { MAX_MEMORY_HELP, parsePositiveInt, parseSize } from '../flags';
import { readRunSources } from '../resolve';
import { UsageError } from '../errors';
import { recipeFields } from '../../engine/recipe';
import { METHOD_NAMES } from '../../engine/types';

interface InspectFlags {
  samples?: number;
  blockSize?: number;
  method?: PruneOptions['method'];
  inverseForm?: PruneOptions['inverseForm'];
  maxMemory?: number;
  backend?: PruneOptions['backend'];
  structure?: PruneOptions['structure'];
  json?: boolean;
}

export function inspectCommand(): Command {
  return new Command('inspect')
    .description('list the prunable layers of a model and the memory a run would need')
    .argument('<target>', "model.json of a TF.js layers-model, or a recipe that names one (its settings give the plan's; flags override)")
    .option('--samples <n>', 'N: per-sample gradients (default: 256)', parsePositiveInt)
    .option('--block-size <b>', 'B: weights per Fisher block (default: 1000)', parsePositiveInt)
    .addOption(new Option('--method <m>', 'saliency method (default: woodfisher)').choices(METHOD_NAMES))
    .addOption(new Option('--inverse-form <f>', 'Fisher-inverse form (default: auto)').choices(['auto', 'primal', 'dual', 'recursive']))
    .option('--max-memory <size>', MAX_MEMORY_HELP, parseSize)
    .addOption(
      new Option(
        '--structure <s>',
        "the plan of a run with this structure (neurons: whole units' rows, blocks one at a time) (default: weights)",
      ).choices(['weights', 'neurons']),
    )
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend (default: auto)').choices(['auto', 'tensorflow', 'wasm', 'cpu']))
    .option('--json', 'print the result as JSON')
    .action(async (target: string, f: InspectFlags) => {
      const sources = await readRunSources(target, undefined);
      const fromRecipe = sources.parsed ? recipeFields(sources.parsed.recipe, sources.recipeDir) : {};
      const model = sources.modelPath ?? fromRecipe.modelPath;
      if (!model) throw new UsageError(`${target} names no model: add \`model:\` to it, or give the model.json`);
      const flags: Partial<PruneOptions> = Object.fromEntries(
        Object.entries({
          samples: f.samples,
          blockSize: f.blockSize,
          method: f.method,
          inverseForm: f.inverseForm,
          maxMemoryBytes: f.maxMemory,
          backend: f.backend,
          structure: f.structure,
        }).filter(([, v]) => v !== undefined),
      );
      const { inspectModel } = await loadPruneModule();
      const r = await inspectModel(path.resolve(model), { ...fromRecipe, ...flags });
      if (f.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        return;
      }
      const rows = r.layers.map(l => [
        l.name,
        l.kind,
        `[${l.shape.join(', ')}]`,
        `[${l.torchShape.join(', ')}]`,
        l.size.toLocaleString('en-US'),
      ]);
      rows.push(['total', '', '', '', r.totalWeights.toLocaleString('en-US')]);
      const mem = r.memory.items.map(i => [i.what, formatBytes(i.bytes)]);
      mem.push(['total', formatBytes(r.memory.totalBytes)]);
      process.stdout.write(
        [
          `${path.resolve(model)} (${r.format}, backend ${r.backend})`,
          ...(r.gradientPass ? [`gradient pass: ${r.gradientPass}`] : []),
          '',
          formatTable(['layer', 'kind', 'shape (TF.js)', 'shape (paper)', 'weights'], rows, [false, false, false, false, true]),
          '',
          ...(r.structure
            ? [
                `structure neurons: the plan covers the ${r.structure.layers.length} of ${r.layers.length} prunable layers with removable units (excluded ones left out)`,
                '',
              ]
            : []),
          formatTable(['memory', 'bytes'], mem, [false, true]),
          '',
          r.memory.fits
            ? `fits in the limit of ${formatBytes(r.memory.limitBytes)}`
            : `does NOT fit in the limit of ${formatBytes(r.memory.limitBytes)}: lower --samples or --block-size, or raise --max-memory`,
          ...(r.memory.why ? [`plan: ${r.memory.why}`] : []),
          ...(r.memory.groups ?? []).map((g, i) => `  layer group ${i + 1}: ${g.join(', ')}`),
        ].join('\n') + '\n',
      );
    });
}
