// A minimal ONNX (protobuf) writer for the one-node graphs the onnxruntime provider runs: no onnx package needed.
// Only the fields used here are encoded (ModelProto → GraphProto → NodeProto / ValueInfoProto / AttributeProto).

type Bytes = number[];

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
  varint(out, v);
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

/** ONNX TensorProto.DataType */
export const ONNX_FLOAT = 1;
export const ONNX_DOUBLE = 11;

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, number | number[]>;
  domain?: string;
}
export interface OnnxValue {
  name: string;
  elemType: number;
  dims: (number | string)[];
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
          if (Array.isArray(value)) {
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

/** Serialises a graph of the given nodes (opset 13, IR version 7) to the bytes InferenceSession loads. */
export function onnxModel(nodes: OnnxNode[], inputs: OnnxValue[], outputs: OnnxValue[]): Uint8Array {
  const graph = msg(g => {
    nodes.forEach((n, i) => bytesField(g, 1, node(n, i)));
    strField(g, 2, 'g');
    for (const v of inputs) bytesField(g, 11, valueInfo(v));
    for (const v of outputs) bytesField(g, 12, valueInfo(v));
  });
  return Uint8Array.from(
    msg(m => {
      intField(m, 1, 7); // ir_version
      strField(m, 2, 'woodfisher'); // producer_name
      bytesField(m, 7, graph);
      bytesField(
        m,
        8,
        msg(op => {
          strField(op, 1, '');
          intField(op, 2, 13);
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
    }),
  );
}
