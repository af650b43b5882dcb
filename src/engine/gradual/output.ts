// Every file a gradual run writes goes through here: its claimed output folder (src/engine/output/claim.ts: checked and
// locked before any work, marker, crash-safe swap), replaced whole each time — the checkpoint after each epoch, then
// the final model.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeLoaded, saveModel, type LoadedModel } from '../model/load';
import type { EncodedModel } from '../model/encode';
import type { OutputClaim } from '../output/claim';
import { WoodFisherError } from '../types';
import { CHECKPOINT_FILE } from './checkpoint';

/** Writes the model and extra files as the whole content of the output (staged, then swapped in); returns model.json's path.
 *  A checkpoint's weights are float32, so a resumed run continues from exactly these weights (the run's encoding —
 *  the input's own, or quantize — is for the final model only, passed as `encoded`). */
export async function writeRunFolder(
  m: LoadedModel,
  out: OutputClaim,
  files: Record<string, string | Uint8Array>,
  encoded?: EncodedModel,
): Promise<string> {
  const exact = CHECKPOINT_FILE in files ? await encodeLoaded(m, () => 'float32') : encoded;
  return saveModel(m, out, files, exact);
}

/** Before any computation: an unfinished run's checkpoint is continued only with resume, and never overwritten without it. */
export function checkRunFolder(outDir: string, resume: boolean): void {
  const checkpoint = fs.existsSync(path.join(outDir, CHECKPOINT_FILE));
  if (resume && !checkpoint)
    throw new WoodFisherError(`nothing to resume: ${outDir} holds no checkpoint of a gradual run`, 'OPTIONS', { path: outDir });
  if (!resume && checkpoint) {
    throw new WoodFisherError(
      `${outDir} holds the checkpoint of an unfinished gradual run; pass --resume to continue it, or choose a new folder`,
      'OUTPUT',
      { path: outDir },
    );
  }
}
