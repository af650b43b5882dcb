// A minimal ONNX (protobuf) writer for the graphs the onnxruntime paths run: no onnx package needed. Only the fields
// used here are encoded (ModelProto → GraphProto → NodeProto / ValueInfoProto / AttributeProto / TensorProto).
// Small messages are byte arrays; tensors' raw data stays a view until the final concatenation.

type Bytes = number[];
type Part = Bytes | Uint8Array;

function varint(out: Bytes, v: number): void {
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}
const key = (out: Bytes, field: number, wire: number) => varint(out, field * 8 + wire);
function intField(out: Bytes, field: number, v: number) {
  key(out, field, 0);
  if (v >= 0) return varint(out, v);
  let u = BigInt.asUintN(64, BigInt(v)); // int64 two's complement: ten bytes
  while (u > 0x7fn) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
}
function bytesField(out: Bytes, field: number, b: Bytes | Uint8Array) {
  key(out, field, 2);
  varint(out, b.length);
  for (const x of b) out.push(x);
}
const strField = (out: Bytes, field: number, s: string) => bytesField(out, field, Buffer.from(s, 'utf8'));
function msg(build: (o: Bytes) => void): Bytes {
  const o: Bytes = [];
  build(o);
  return o;
}
/** A length-delimited field whose body is made of parts (raw data stays a view). */
function partsField(field: number, parts: Part[]): Part[] {
  const head: Bytes = [];
  key(head, field, 2);
  varint(
    head,
    parts.reduce((a, p) => a + p.length, 0),
  );
  return [head, ...parts];
}

/** ONNX TensorProto.DataType */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;
export const ONNX_DOUBLE = 11;

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, number | number[] | string>; // INT, INTS or STRING
  domain?: string;
}
export interface OnnxValue {
  name: string;
  elemType: number;
  dims: (number | string)[];
}
/** A constant of the graph (an initializer): float32 or int64 values, little-endian raw data. */
export interface OnnxInit {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

function valueInfo(v: OnnxValue): Bytes {
  return msg(o => {
    strField(o, 1, v.name);
    bytesField(
      o,
      2,
      msg(t => {
        // TypeProto
        bytesField(
          t,
          1,
          msg(tt => {
            // TypeProto.Tensor
            intField(tt, 1, v.elemType);
            bytesField(
              tt,
              2,
              msg(sh => {
                // TensorShapeProto
                for (const d of v.dims) {
                  bytesField(
                    sh,
                    1,
                    msg(dim => (typeof d === 'number' ? intField(dim, 1, d) : strField(dim, 2, d))),
                  );
                }
              }),
            );
          }),
        );
      }),
    );
  });
}

function node(n: OnnxNode, i: number): Bytes {
  return msg(o => {
    for (const s of n.inputs) strField(o, 1, s);
    for (const s of n.outputs) strField(o, 2, s);
    strField(o, 3, `n${i}`);
    strField(o, 4, n.op);
    if (n.domain) strField(o, 7, n.domain);
    for (const [name, value] of Object.entries(n.attrs ?? {})) {
      bytesField(
        o,
        5,
        msg(a => {
          strField(a, 1, name);
          if (typeof value === 'string') {
            strField(a, 4, value);
            intField(a, 20, 3 /* STRING */);
          } else if (Array.isArray(value)) {
            for (const v of value) intField(a, 8, v);
            intField(a, 20, 7 /* INTS */);
          } else {
            intField(a, 3, value);
            intField(a, 20, 2 /* INT */);
          }
        }),
      );
    }
  });
}

function tensor(t: OnnxInit): Part[] {
  const head = msg(o => {
    for (const d of t.dims) intField(o, 1, d);
    intField(o, 2, t.data instanceof Float32Array ? ONNX_FLOAT : ONNX_INT64);
    strField(o, 8, t.name);
  });
  return [head, ...partsField(9, [new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)])];
}

/** Serialises a graph of the given nodes (opset 13 by default; IR version 7, or 8 from opset 14) to the bytes
 *  InferenceSession loads. */
export function onnxModel(nodes: OnnxNode[], inputs: OnnxValue[], outputs: OnnxValue[], inits: OnnxInit[] = [], opset = 13): Uint8Array {
  const graph: Part[] = [
    msg(g => {
      nodes.forEach((n, i) => bytesField(g, 1, node(n, i)));
      strField(g, 2, 'g');
    }),
  ];
  for (const t of inits) graph.push(...partsField(5, tensor(t)));
  graph.push(
    msg(g => {
      for (const v of inputs) bytesField(g, 11, valueInfo(v));
      for (const v of outputs) bytesField(g, 12, valueInfo(v));
    }),
  );
  const head = msg(m => {
    intField(m, 1, opset >= 14 ? 8 : 7); // ir_version
    strField(m, 2, 'woodfisher'); // producer_name
  });
  const opsets = msg(m => {
    bytesField(
      m,
      8,
      msg(op => {
        strField(op, 1, '');
        intField(op, 2, opset);
      }),
    ); // opset_import
    if (nodes.some(n => n.domain === 'com.microsoft'))
      bytesField(
        m,
        8,
        msg(op => {
          strField(op, 1, 'com.microsoft');
          intField(op, 2, 1);
        }),
      );
  });
  const parts = [head, ...partsField(7, graph), opsets];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
