// onnxruntime-node provider: each product is one Gemm / MatMul node run by ONNX Runtime's CPU kernels (MLAS), in
// float32 or float64, through the package's public API (InferenceSession, Tensor). That API is asynchronous and the
// Fisher math calls products synchronously (gemm.ts), so the sessions live on a helper thread (ortThread.ts) and each
// product is a request to it: post on a MessagePort, sleep in Atomics.wait until the reply, read it with
// receiveMessageOnPort. The caller's thread sleeps while the helper computes, so a pair uses one core.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { GemmProvider, Matrix, checkSize } from './types';
import { nodeRequire, tryRequire } from './nodeRequire';
import { truncatedElf } from './elf';
import NATIVE_FILES from './platforms.json';
import { recycle, takeBuffer, takeFree } from '../scratch';
import { factorOutputBytes } from '../factors';
import { GONE, WAITING, type Feed, type Kind, type Product, type Reply, type Request, type ThreadInit } from './ortThread';
import { WoodFisherError } from '../../types';
import type { FactorJob } from '../gemm';

export interface OnnxRuntimeOptions {
  precision?: 'float32' | 'float64';
  /** Threads of one product (ONNX Runtime's intra-op pool). Default 1: the engine parallelises across blocks. */
  threads?: number;
}

const START_MS = 60_000; // loading the native library on a busy machine; past this the provider is given up
const EXIT_MS = 30_000;

let unavailable: { reason?: string } | undefined;

/** Why onnxruntime-node is not usable here, or undefined when it is (its public entry point loads, native library included). */
export function onnxRuntimeUnavailable(): string | undefined {
  if (!unavailable) {
    const cut = cutLibrary();
    const r = cut ? { error: cut } : tryRequire<object>('onnxruntime-node');
    unavailable = { reason: r.mod ? undefined : `onnxruntime-node not loadable: ${r.error}` };
  }
  return unavailable.reason;
}

/** On Linux, the first of onnxruntime-node's native files for this platform (platforms.json) that is cut short:
 *  loading it would end the process with SIGBUS instead of an error (elf.ts). */
function cutLibrary(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  let dir: string;
  try {
    dir = path.dirname(nodeRequire().resolve('onnxruntime-node/package.json'));
  } catch {
    return undefined; // not installed: require says so
  }
  const files = (NATIVE_FILES as Record<string, string[]>)[`${process.platform}-${process.arch}`] ?? [];
  const bin = path.join(dir, 'bin', 'napi-v6', process.platform, process.arch);
  for (const f of files) {
    const cut = truncatedElf(path.join(bin, f));
    if (cut) return cut;
  }
  return undefined;
}

/** A synchronous channel to one helper thread. */
class OrtThread {
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
  private readonly port: MessagePort;
  private readonly worker: Worker;
  private closed = false;

  constructor(precision: 'float32' | 'float64', threads: number) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const init: ThreadInit = { port: port2, signal: this.signal, precision, threads };
    this.worker = spawn(init, [port2]);
    this.worker.unref(); // an idle helper never keeps a process alive
    this.worker.on('error', () => {}); // reported to the waiting caller through the signal (GONE)
    const ready = this.await(START_MS, 'start');
    if (!ready.ok) {
      this.closed = true;
      void this.worker.terminate();
      throw new Error(ready.error);
    }
  }

  /** Runs one product; the feeds' buffers move to the helper (and come back to the scratch pool). */
  run(kind: Kind, feeds: Feed[], dims: number[]): Float64Array {
    const out = takeBuffer(8 * dims.reduce((a, b) => a * b, 1));
    return this.request({ op: 'run', kind, feeds, out, dims }, [out, ...new Set(feeds.map(f => f[1].buffer as ArrayBuffer))], kind).C!;
  }

  /** A factorization's outputs, computed on the helper (G's buffer and the spares move there; G's comes back). */
  factor(req: Extract<Request, { op: 'factor' }>): Float64Array[] {
    return this.request(req, [req.G.buffer as ArrayBuffer, ...(req.spare ?? [])], req.name).parts!;
  }

  private request(req: Request, transfer: ArrayBuffer[], what: string): Extract<Reply, { ok: true }> {
    if (this.closed) throw new Error('onnxruntime provider used after dispose()');
    this.post(req, transfer);
    const r = this.await(Infinity, what);
    if (!r.ok) throw r.code ? new WoodFisherError(r.error, r.code) : new Error(`onnxruntime ${what}: ${r.error}`);
    recycle(...(r.back ?? [])); // the operands' buffers come back for the next operands of their size
    return r;
  }

  /** Frees the sessions and lets the thread leave on its own (never terminated inside a native call). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.post({ op: 'exit' }, []);
    if (this.waitSignal(EXIT_MS) === 'timed-out') void this.worker.terminate();
    receiveMessageOnPort(this.port);
    this.port.close();
  }

  private post(req: Request, transfer: ArrayBuffer[]): void {
    Atomics.store(this.signal, 0, WAITING);
    this.port.postMessage(req, transfer);
  }

  /** Sleeps until the helper has replied (or left). A wake-up with the signal still WAITING is the late notify of
   *  the previous reply (the helper stores, the caller reads and posts again, then the helper notifies): sleep again. */
  private waitSignal(ms: number): 'ok' | 'timed-out' {
    const end = Date.now() + ms;
    while (Atomics.load(this.signal, 0) === WAITING) {
      const left = end - Date.now();
      if (left <= 0 || Atomics.wait(this.signal, 0, WAITING, left) === 'timed-out') return 'timed-out';
    }
    return 'ok';
  }

  private await(ms: number, what: string): Reply {
    const waited = this.waitSignal(ms);
    const m = receiveMessageOnPort(this.port)?.message as Reply | undefined;
    if (m) return m;
    if (waited === 'timed-out') return { ok: false, error: `the onnxruntime thread did not ${what} within ${ms / 1000} s` };
    this.closed = Atomics.load(this.signal, 0) === GONE || this.closed;
    return { ok: false, error: 'the onnxruntime thread stopped' };
  }
}

/** The bundled helper (dist/ortThread.js) beside this code, or the TypeScript source through tsx (tests, dev). */
function spawn(workerData: ThreadInit, transferList: MessagePort[]): Worker {
  const js = path.join(__dirname, 'ortThread.js');
  if (fs.existsSync(js)) return new Worker(js, { workerData, transferList });
  const ts = path.join(__dirname, 'ortThread.ts');
  return new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(ts)});`, { eval: true, workerData, transferList });
}

/** Returns the provider, or throws (with the reason) when onnxruntime-node is not installed or does not load. */
export function onnxRuntimeProvider(opts: OnnxRuntimeOptions = {}): GemmProvider {
  const precision = opts.precision ?? 'float32';
  const why = onnxRuntimeUnavailable();
  if (why) throw new Error(why);
  const thread = new OrtThread(precision, opts.threads ?? 1);
  // A copy of each operand in the provider's precision, in a reused buffer that moves to the helper and back.
  const copy = (A: Matrix, len: number): Float32Array | Float64Array => {
    const X = precision === 'float64' ? new Float64Array(takeBuffer(8 * len)) : new Float32Array(takeBuffer(4 * len));
    X.set(A.subarray(0, len)); // a memcpy (or one conversion pass); TypedArray.from walks an iterator
    return X;
  };
  /** One session run; with count > 1 the batched graph, every input [count, rows, cols]; the product is out = [rows, cols]. */
  const run = (kind: Product, count: number, operands: [string, Matrix, [number, number]][], out: [number, number]): Float64Array => {
    const feeds = operands.map(([name, A, [r, c]]): Feed => {
      checkSize(`${kind} ${name}`, A, count * r * c);
      return [name, copy(A, count * r * c), count === 1 ? [r, c] : [count, r, c]];
    });
    return thread.run(count === 1 ? kind : `${kind}Batch`, feeds, count === 1 ? out : [count, ...out]);
  };
  /** A factorization of factors.ts in one request (its products on the helper); float32 G travels as float32, and
   *  moves there without a copy when the caller hands it over (a whole buffer, `owned`). */
  const factor = ({ name, G, k, m, damp, count, what, owned }: FactorJob): Float64Array[] => {
    const len = count * k * m;
    checkSize(`${name} G`, G, len);
    const whole = owned && G.length === len && G.byteOffset === 0 && G.byteLength === G.buffer.byteLength;
    const g = whole ? G : new (G instanceof Float32Array ? Float32Array : Float64Array)(takeBuffer(G.BYTES_PER_ELEMENT * len));
    if (g !== G) g.set(G.subarray(0, len));
    // our free buffers of the outputs' sizes go along: the outputs are written into pages already touched
    const spare = factorOutputBytes(name, k, m, count)
      .map(takeFree)
      .filter((b): b is ArrayBuffer => b !== undefined);
    return thread.factor({ op: 'factor', name, G: g, k, m, damp, count, what, spare });
  };
  return {
    name: `onnxruntime-${precision === 'float64' ? 'f64' : 'f32'}`,
    precision,
    ...(precision === 'float64' ? { factor } : {}),
    gramCols: (A, k, m, c = 1) => run('gramCols', c, [['A', A, [k, m]]], [m, m]),
    gramRows: (A, m, k, c = 1) => run('gramRows', c, [['A', A, [m, k]]], [m, m]),
    matmulTN: (A, B, k, m, n, c = 1) =>
      run(
        'matmulTN',
        c,
        [
          ['A', A, [k, m]],
          ['B', B, [k, n]],
        ],
        [m, n],
      ),
    matmul: (A, B, m, k, n, c = 1) =>
      run(
        'matmul',
        c,
        [
          ['A', A, [m, k]],
          ['B', B, [k, n]],
        ],
        [m, n],
      ),
    dispose: () => thread.close(),
  };
}
