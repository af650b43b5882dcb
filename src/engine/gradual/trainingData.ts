// Training data for fine-tuning, read batch by batch: a .npy stays on disk (rows read at their offsets, so memory
// is one batch whatever the file's size); an .npz (zip, usually deflated) is decompressed into memory only when
// its inputs fit the memory limit, checked from the archive's directory before anything is inflated.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unzipSync } from 'fflate';
import { inputFileSize, readInputFile } from '../files';
import { WoodFisherError } from '../types';
import { formatBytes } from '../report/bytes';
import { memberSize } from '../data/npz';
import { npyElements, parseNpy, parseNpyHeader, type NpyArray, type NpyDtype } from '../data/npy';
import { checkInputs, readArrays, toClassIndices, type DataSpec, type Dataset } from '../data/calibration';

export interface TrainingData {
  count: number; // N samples
  rowShape: number[]; // one sample's shape
  labels: Int32Array; // class indices, all N (4 bytes each: small next to the inputs)
  source: string;
  residentBytes: number; // inputs held in memory (an .npz's, decompressed); 0 when read from disk
  /** The rows at these indices, in this order, as float32 [indices.length · row size]. */
  rows(indices: ArrayLike<number>): Float32Array;
  close(): void;
}

const HEADER_PROBE = 64 * 1024; // a .npy header is at most a few hundred bytes in practice; v2/3 allow more

/** Opens training inputs (.npy or .npz with x, y) and labels (.npy, or y of the .npz) for a model. */
export function openTrainingData(m: DataSpec, xPath: string, labelsPath: string | undefined, limitBytes: number): TrainingData {
  const file = path.resolve(xPath);
  inputFileSize(file, 'Training data'); // a regular file: no FIFO or folder
  const ext = path.extname(file).toLowerCase();
  let inputs: Omit<TrainingData, 'labels' | 'source'>;
  let yFromNpz: NpyArray | undefined;
  if (ext === '.npy') inputs = npyRows(m, file);
  else if (ext === '.npz') ({ inputs, y: yFromNpz } = npzRows(m, file, limitBytes));
  else
    throw new WoodFisherError(
      `${path.basename(file)}: unsupported data format '${ext || 'no extension'}' (use .npy or .npz).`,
      'DATA_FORMAT',
      { file },
    );
  try {
    let y = yFromNpz,
      labelFile = file;
    if (labelsPath) {
      labelFile = path.resolve(labelsPath);
      const size = fs.existsSync(labelFile) ? fs.statSync(labelFile).size : 0;
      if (size > Math.max(limitBytes, 1))
        throw new WoodFisherError(
          `${path.basename(labelFile)} is ${size} bytes, more than the memory limit; labels should be one integer per sample.`,
          'LABELS',
          { file: labelFile },
        );
      const r = readArrays(labelFile, Math.max(limitBytes, 1), 'labels');
      y = path.extname(labelFile).toLowerCase() === '.npz' ? (r.y ?? r.x) : r.x;
    }
    if (!y)
      throw new WoodFisherError(
        `fine-tuning needs labels: ${path.basename(file)} has none; pass --train-labels y.npy (or save the .npz with y=labels)`,
        'LABELS',
        { file },
      );
    const labels = toClassIndices(y, m.numClasses, labelFile);
    if (labels.length !== inputs.count)
      throw new WoodFisherError(
        `${path.basename(labelFile)} has ${labels.length} labels but ${path.basename(file)} has ${inputs.count} samples.`,
        'LABELS',
        { file: labelFile },
      );
    const source = `${path.basename(file)}${labelsPath ? ` + ${path.basename(labelFile)}` : ''} (${inputs.count} samples)`;
    return { ...inputs, labels, source };
  } catch (e) {
    inputs.close();
    throw e;
  }
}

/** Copies element j of `src` into row `s` of `out`, refusing NaN and infinities. */
function copyRow(src: ArrayLike<number>, base: number, out: Float32Array, at: number, per: number, sample: number, file: string): void {
  for (let j = 0; j < per; j++) {
    const v = src[base + j];
    if (!Number.isFinite(v))
      throw new WoodFisherError(`${path.basename(file)}: sample ${sample} contains ${Number.isNaN(v) ? 'NaN' : 'Inf'}.`, 'DATA_FORMAT', {
        file,
      });
    out[at + j] = v;
  }
}

function npyRows(m: DataSpec, file: string): Omit<TrainingData, 'labels' | 'source'> {
  const fd = fs.openSync(file, 'r');
  try {
    const probe = Buffer.alloc(Math.min(HEADER_PROBE, fs.fstatSync(fd).size));
    fs.readSync(fd, probe, 0, probe.length, 0);
    const h = parseNpyHeader(probe, path.basename(file));
    checkInputs(m, h.dtype, h.shape, file);
    const size = fs.fstatSync(fd).size;
    if (size - h.offset < h.count * h.bytesPerElement) {
      throw new WoodFisherError(
        `${path.basename(file)}: not a valid .npy file (truncated: ${size - h.offset} data bytes, expected ${h.count * h.bytesPerElement})`,
        'DATA_FORMAT',
        { file },
      );
    }
    const count = h.shape[0],
      per = h.count / count,
      rowBytes = per * h.bytesPerElement;
    const buf = Buffer.alloc(rowBytes);
    return {
      count,
      rowShape: h.shape.slice(1),
      residentBytes: 0,
      rows(indices) {
        const out = new Float32Array(indices.length * per);
        for (let s = 0; s < indices.length; s++) {
          const i = indices[s];
          if (fs.readSync(fd, buf, 0, rowBytes, h.offset + i * rowBytes) !== rowBytes)
            throw new WoodFisherError(`${path.basename(file)}: could not read sample ${i} (file changed while training?)`, 'DATA_FORMAT', {
              file,
            });
          copyRow(npyElements(h.dtype as NpyDtype, buf, per) as ArrayLike<number>, 0, out, s * per, per, i, file);
        }
        return out;
      },
      close() {
        fs.closeSync(fd);
      },
    };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

function npzRows(m: DataSpec, file: string, limitBytes: number): { inputs: Omit<TrainingData, 'labels' | 'source'>; y?: NpyArray } {
  const size = fs.statSync(file).size;
  const tooBig = (what: string, bytes: number | string) =>
    new WoodFisherError(
      `${path.basename(file)}: its ${what} take ${typeof bytes === 'number' ? formatBytes(bytes) : bytes}, more than the memory limit (${formatBytes(limitBytes)}); save the inputs as .npy (read batch by batch from disk) or raise --max-memory`,
      'MEMORY',
      { file },
    );
  if (size > limitBytes) throw tooBig('compressed arrays', size);
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(new Uint8Array(readInputFile(file, 'Training data', limitBytes)), {
      filter: f => {
        if (f.name !== 'x.npy' && f.name !== 'y.npy') return false;
        if (f.originalSize > limitBytes) throw tooBig(f.name === 'x.npy' ? 'inputs' : 'labels', memberSize(f));
        return true;
      },
    });
  } catch (e) {
    if (e instanceof WoodFisherError) throw e;
    throw new WoodFisherError(`${path.basename(file)}: not a valid .npz (zip) file (${(e as Error).message})`, 'DATA_FORMAT', { file });
  }
  if (!members['x.npy'])
    throw new WoodFisherError(`${path.basename(file)} has no array 'x'; save it with np.savez(path, x=inputs, y=labels).`, 'DATA_FORMAT', {
      file,
    });
  const x = parseNpy(members['x.npy'], `${path.basename(file)}:x.npy`);
  const y = members['y.npy'] ? parseNpy(members['y.npy'], `${path.basename(file)}:y.npy`) : undefined;
  checkInputs(m, x.dtype, x.shape, file);
  const count = x.shape[0],
    per = x.data.length / count;
  const src = x.data as Float32Array | Float64Array | Uint8Array;
  return {
    inputs: {
      count,
      rowShape: x.shape.slice(1),
      residentBytes: x.data.byteLength,
      rows(indices) {
        const out = new Float32Array(indices.length * per);
        for (let s = 0; s < indices.length; s++) copyRow(src, indices[s] * per, out, s * per, per, indices[s], file);
        return out;
      },
      close() {},
    },
    y,
  };
}

/** A labelled Dataset of the given rows (calibration samples for a pruning step, or an evaluation subset). */
export function subset(d: TrainingData, indices: Int32Array, what: string): Dataset {
  return {
    x: d.rows(indices),
    shape: [indices.length, ...d.rowShape],
    labels: Int32Array.from(indices, i => d.labels[i]),
    count: indices.length,
    source: `${indices.length} ${what} drawn from ${d.source}`,
  };
}
