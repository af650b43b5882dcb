// Every file a gradual run writes goes through here: its output folder, replaced atomically each time
// (the checkpoint after each epoch, then the final model), never a folder the tool did not write.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { saveModel, type LoadedModel } from '../model/load';
import { WoodFisherError } from '../types';
import { CHECKPOINT_FILE } from './checkpoint';

/** Writes the model and extra files as the whole content of outDir (crash-safe replace); returns model.json's path. */
export function writeRunFolder(m: LoadedModel, outDir: string, files: Record<string, string | Uint8Array>): Promise<string> {
  return saveModel(m, outDir, files);
}

/** Before any computation: outDir must be new, or a previous output; an unfinished run's checkpoint only with resume. */
export function checkRunFolder(outDir: string, resume: boolean): void {
  const out = path.resolve(outDir);
  const exists = fs.existsSync(out);
  if (exists && !fs.statSync(out).isDirectory()) throw new WoodFisherError(`Output path ${outDir} exists and is not a folder.`, 'OUTPUT', { path: outDir });
  const checkpoint = exists && fs.existsSync(path.join(out, CHECKPOINT_FILE));
  if (resume && !checkpoint) throw new WoodFisherError(`nothing to resume: ${outDir} holds no checkpoint of a gradual run`, 'OPTIONS', { path: outDir });
  if (!resume && checkpoint) {
    throw new WoodFisherError(`${outDir} holds the checkpoint of an unfinished gradual run; pass --resume to continue it, or choose a new folder`, 'OUTPUT', { path: outDir });
  }
  if (exists && !fs.existsSync(path.join(out, 'model.json')) && fs.readdirSync(out).length > 0) {
    throw new WoodFisherError(`Output folder ${outDir} exists and is not a previous output (no model.json); refusing to replace it.`, 'OUTPUT', { path: outDir });
  }
}
