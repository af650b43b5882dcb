// R = L⁻¹ with LLᵀ = A = λI + GᵀG/k for a batch of Fisher blocks, left-looking by panels of PANEL columns: one ONNX
// graph run per panel and batch instead of ~30 products, each panel's small diagonal block factored in JS.
//   panel J (rows I ≥ J):  T = G_Iᵀ G_J / k + λI_IJ − L_{I,<J} L_{J,<J}ᵀ                 (graph: gram column, update)
//   JS:                     L_JJ = chol(T_JJ), R_JJ = L_JJ⁻¹
//   next graph:             L_{>J,J} = T_{>J,J} R_JJᵀ,  R_{J,<J} = −R_JJ L_{J,<J} R_{<J,<J}  (and the next panel's T)
// Cost as the recursive route (gram k b², factor and inverse ~2b³/3, products whole); the diagonal blocks' Cholesky
// stays in JS because ONNX has no Cholesky operator, and its LU `Inverse` loses digits as a block-elimination base at
// small λ (docs/performance.md). Runs on the onnxruntime thread (ortThread.ts): no crossing per graph.
import { factorSmall, invLowerInto } from '../cholesky';
import { recycle, scratch, zeros } from '../scratch';
import { ONNX_DOUBLE, ONNX_INT64, type OnnxNode, type OnnxValue } from './onnxModel';

/** Columns per panel: the JS part is b·PANEL²/3 per block, the graph runs ⌈b/PANEL⌉ + 1 per batch. */
export const PANEL = 32;

/** Which parts a panel graph has: the damped gram A (the first graph: one whole product is faster than a thin one per
 *  panel), finishing the previous panel J (L below its diagonal block; R's row J when there are columns before it:
 *  `prior`) and starting the next panel N (`next`). */
export interface PanelParts {
  gram: boolean;
  finish: boolean;
  prior: boolean;
  next: boolean;
}
export const panelKey = (p: PanelParts) => `panel${+p.gram}${+p.finish}${+p.prior}${+p.next}`;

const T3 = [0, 2, 1];

/** The ONNX graph of one panel step. Shapes are symbolic and bounds are int64 inputs: one graph serves every size.
 *  L and R so far are inputs (the caller's [c, b, b] buffers, filled panel by panel); the new pieces are outputs. */
export function panelGraph({ gram, finish, prior, next }: PanelParts): { nodes: OnnxNode[]; inputs: OnnxValue[]; outputs: OnnxValue[] } {
  const nodes: OnnxNode[] = [],
    inputs: OnnxValue[] = [],
    outputs: OnnxValue[] = [];
  const f64 = (name: string, dims: (string | number)[]) => inputs.push({ name, elemType: ONNX_DOUBLE, dims });
  const i64 = (name: string, len: number) => inputs.push({ name, elemType: ONNX_INT64, dims: [len] });
  const out = (name: string, dims: string[]) => outputs.push({ name, elemType: ONNX_DOUBLE, dims });
  const op = (type: string, ins: string[], o: string, attrs?: OnnxNode['attrs']) => {
    nodes.push({ op: type, inputs: ins, outputs: [o], attrs });
    return o;
  };
  const t = (x: string) => op('Transpose', [x], `${x}T`, { perm: T3 });
  const mm = (a: string, b: string, o: string) => op('MatMul', [a, b], o);
  const slice = (x: string, from: string, to: string, o: string) => op('Slice', [x, from, to, 'axes12'], o);
  if (prior || next) i64('axes12', 2); // [1, 2]: rows and columns of every block

  let Lb = '';
  if (finish) {
    f64('Rjj', ['c', 'w', 'w']); // R_JJ = L_JJ⁻¹ of the previous panel's diagonal block (JS)
    if (next) {
      f64('Tb', ['c', 'rb', 'w']); // the previous panel's column below its diagonal block
      Lb = mm('Tb', t('Rjj'), 'Lb'); // L_{>J,J} = T_{>J,J} R_JJᵀ
      out('Lb', ['c', 'rb', 'w']);
    }
    if (prior) {
      f64('L', ['c', 'b', 'b']);
      f64('R', ['c', 'b', 'b']);
      i64('rowFrom', 2); // (j0, 0)
      i64('rowTo', 2); // (j1, j0)
      i64('topTo', 2); // (j0, j0)
      i64('zero2', 2);
      const Lrow = slice('L', 'rowFrom', 'rowTo', 'Lrow'); // L_{J,<J}
      const Rtop = slice('R', 'zero2', 'topTo', 'Rtop'); // R_{<J,<J}
      op('Neg', [mm('Rjj', mm(Lrow, Rtop, 'LR'), 'RLR')], 'Rrow'); // R_{J,<J} = −R_JJ L_{J,<J} R_{<J,<J}
      out('Rrow', ['c', 'w', 'j']);
    }
  }
  if (gram) {
    f64('G', ['c', 'k', 'b']);
    mm(t('G'), 'G', 'GtG'); // GᵀG, no elementwise pass over it: kλ is added to each panel (k·A = GᵀG + kλI)
    out('GtG', ['c', 'b', 'b']);
  } else if (next) f64('GtG', ['c', 'b', 'b']);
  if (next) {
    // the next panel N = [n0, n1): T = (k·A)_{≥n0,N} − L_{≥n0,<N} L_{N,<N}ᵀ
    f64('D', ['rn', 'wn']); // kλ on the panel's diagonal
    i64('aFrom', 2); // (n0, n0)
    i64('aTo', 2); // (b, n1)
    let T = op('Add', [slice('GtG', 'aFrom', 'aTo', 'GN'), 'D'], 'AN');
    if (finish) {
      // the finished panel's column: rows ≥ n0 are Lb, rows N its first wn
      i64('zero2b', 2);
      i64('lbTo', 2); // (wn, w)
      T = op('Sub', [T, mm(Lb, t(slice(Lb, 'zero2b', 'lbTo', 'LbN')), 'LbLbN')], 'TminusJ');
      if (prior) {
        i64('lFrom', 2); // (n0, 0)
        i64('lTo', 2); // (b, j0): columns before the finished panel
        i64('lnTo', 2); // (n1, j0)
        const Lbelow = slice('L', 'lFrom', 'lTo', 'Lbelow'),
          LN = slice('L', 'lFrom', 'lnTo', 'LN');
        T = op('Sub', [T, mm(Lbelow, t(LN), 'LLN')], 'TminusPrior');
      }
    }
    op('Identity', [T], 'Tnext');
    out('Tnext', ['c', 'rn', 'wn']);
  }
  return { nodes, inputs, outputs };
}

/** A graph input or output: name, data, dims. */
export type PanelTensor = [name: string, data: Float64Array | BigInt64Array, dims: number[]];
/** Runs one panel graph; the outputs are written into the given arrays. */
export type RunPanel = (parts: PanelParts, feeds: PanelTensor[], outputs: PanelTensor[]) => Promise<void>;

const int = (...v: number[]): BigInt64Array => BigInt64Array.from(v.map(BigInt));
const pair = (name: string, a: number, b: number): PanelTensor => [name, int(a, b), [2]];

/** R = L⁻¹ (lower, [count, b, b]) with LLᵀ = λI + GᵀG/k for `count` k×b blocks G (float64), panel by panel. */
export async function panelCholeskyInverse(
  G: Float64Array,
  k: number,
  b: number,
  damp: number,
  count: number,
  what: string,
  run: RunPanel,
): Promise<Float64Array> {
  const scale = Math.sqrt(k || 1), // the factor is of k·A = GᵀG + kλI: R = √k · (its L)⁻¹
    bb = b * b,
    L = scratch(count * bb), // only what has been placed is read
    R = scratch(count * bb); // every row is placed whole (placeRow)
  const GtG = scratch(count * bb);
  /** Feeds and output of starting panel [n0, n0 + wn). */
  const start = (n0: number, wn: number) => {
    const rn = b - n0,
      T = scratch(count * rn * wn),
      D = zeros(rn * wn);
    for (let i = 0; i < wn; i++) D[i * wn + i] = k * damp;
    const feeds: PanelTensor[] = [['D', D, [rn, wn]], pair('aFrom', n0, n0), pair('aTo', b, n0 + wn)];
    return { feeds, T, D, out: ['Tnext', T, [count, rn, wn]] as PanelTensor };
  };
  let j0 = 0,
    w = Math.min(PANEL, b);
  let s = start(0, w);
  const axes12: PanelTensor = ['axes12', int(1, 2), [2]];
  await run(
    { gram: true, finish: false, prior: false, next: true },
    [['G', G, [count, k, b]], axes12, ...s.feeds],
    [['GtG', GtG, [count, b, b]], s.out],
  );
  recycle(s.D);
  for (let T = s.T; ;) {
    const r = b - j0,
      { Ljj, Rjj } = factorDiagonal(T, count, r, w, j0, what);
    const n0 = j0 + w,
      next = n0 < b,
      wn = Math.min(PANEL, b - n0),
      prior = j0 > 0;
    const feeds: PanelTensor[] = [['Rjj', Rjj, [count, w, w]], ...(prior || next ? [axes12] : [])],
      outputs: PanelTensor[] = [];
    const Tb = next ? belowDiagonal(T, count, r, w) : undefined,
      Lb = next ? scratch(count * (r - w) * w) : undefined,
      Rrow = prior ? scratch(count * w * j0) : undefined;
    if (Tb && Lb) {
      feeds.push(['Tb', Tb, [count, r - w, w]]);
      outputs.push(['Lb', Lb, [count, r - w, w]]);
    }
    if (Rrow) {
      feeds.push(['L', L, [count, b, b]], ['R', R, [count, b, b]], pair('rowFrom', j0, 0), pair('rowTo', n0, j0), pair('topTo', j0, j0));
      feeds.push(pair('zero2', 0, 0));
      outputs.push(['Rrow', Rrow, [count, w, j0]]);
    }
    s = next ? start(n0, wn) : s;
    if (next) {
      feeds.push(['GtG', GtG, [count, b, b]], ...s.feeds, pair('zero2b', 0, 0), pair('lbTo', wn, w));
      if (prior) feeds.push(pair('lFrom', n0, 0), pair('lTo', b, j0), pair('lnTo', n0 + wn, j0));
      outputs.push(s.out);
    }
    if (!next && !prior) {
      placeRow(R, undefined, Rjj, count, b, j0, w, scale); // a single panel: R = R_JJ
      recycle(T, Ljj, Rjj, L, GtG);
      return R;
    }
    await run({ gram: false, finish: true, prior, next }, feeds, outputs);
    // this panel's pieces into L and R
    place(L, Ljj, count, b, j0, j0, w, w);
    if (Lb) place(L, Lb, count, b, n0, j0, r - w, w);
    placeRow(R, Rrow, Rjj, count, b, j0, w, scale);
    recycle(T, Tb, Ljj, Rjj, Lb, Rrow, next ? s.D : undefined);
    if (!next) {
      recycle(L, GtG);
      return R;
    }
    [T, j0, w] = [s.T, n0, wn];
  }
}

/** Writes `count` rows×cols pieces into the [count, b, b] matrices X at (row0, col0) (a loop: rows are short). */
function place(X: Float64Array, P: Float64Array, count: number, b: number, row0: number, col0: number, rows: number, cols: number): void {
  let o = 0;
  for (let c = 0; c < count; c++)
    for (let i = 0; i < rows; i++) {
      const x = c * b * b + (row0 + i) * b + col0;
      for (let j = 0; j < cols; j++) X[x + j] = P[o++];
    }
}

/** Rows J = [j0, j0 + w) of each R: R_{J,<J} (from R's rows above, already scaled), `scale`·R_JJ, zeros after. */
function placeRow(
  R: Float64Array,
  Rrow: Float64Array | undefined,
  Rjj: Float64Array,
  count: number,
  b: number,
  j0: number,
  w: number,
  scale: number,
) {
  for (let c = 0; c < count; c++)
    for (let i = 0; i < w; i++) {
      const x = c * b * b + (j0 + i) * b,
        o = (c * w + i) * j0,
        d = (c * w + i) * w;
      for (let j = 0; j < j0; j++) R[x + j] = Rrow![o + j];
      for (let j = 0; j < w; j++) R[x + j0 + j] = scale * Rjj[d + j];
      R.fill(0, x + j0 + w, x + b);
    }
}

/** Rows [w, r) of each [r, w] panel column of T. */
function belowDiagonal(T: Float64Array, count: number, r: number, w: number): Float64Array {
  const out = scratch(count * (r - w) * w);
  for (let c = 0; c < count; c++) out.set(T.subarray(c * r * w + w * w, (c + 1) * r * w), c * (r - w) * w);
  return out;
}
/** L_JJ = chol(T_JJ) and R_JJ = L_JJ⁻¹ of each block's w×w top of T ([count, r, w]); `offset` names the pivot. */
function factorDiagonal(T: Float64Array, count: number, r: number, w: number, offset: number, what: string) {
  const ww = w * w,
    Ljj = scratch(count * ww),
    Rjj = zeros(count * ww);
  for (let c = 0; c < count; c++) {
    const D = Ljj.subarray(c * ww, (c + 1) * ww);
    D.set(T.subarray(c * r * w, c * r * w + ww)); // rows J of T are its first w rows
    factorSmall(D, w, offset, what);
    invLowerInto(D, w, Rjj.subarray(c * ww, (c + 1) * ww));
  }
  return { Ljj, Rjj };
}
