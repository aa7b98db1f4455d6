// A minimal ONNX model writer: the protobuf encoding of ModelProto for the small dense
// networks Conduit builds itself (the demo model, benchmark and test models), so that no
// model has to be downloaded. Layers are MatMul + Add (+ Relu), float32, with a dynamic
// batch dimension. Field numbers follow onnx/onnx.proto (IR version 8, opset 17).

import { ConduitError, ErrorCodes } from '../errors.js';

const te = new TextEncoder();

/** Protobuf writer: varints and length-delimited fields, into growing chunks. */
class Pb {
  private parts: Uint8Array[] = [];
  private len = 0;

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.len += b.length;
  }

  private varint(v: number): void {
    const out: number[] = [];
    // (values here are small non-negative integers: ≤ 2^53)
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    out.push(v);
    this.push(Uint8Array.from(out));
  }

  int(field: number, v: number): this {
    this.varint(field * 8);
    this.varint(v);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.varint(field * 8 + 2);
    this.varint(b.length);
    this.push(b);
    return this;
  }

  str(field: number, s: string): this {
    return this.bytes(field, te.encode(s));
  }

  msg(field: number, m: Pb): this {
    return this.bytes(field, m.done());
  }

  done(): Uint8Array {
    const out = new Uint8Array(this.len);
    let p = 0;
    for (const b of this.parts) {
      out.set(b, p);
      p += b.length;
    }
    return out;
  }
}

const FLOAT = 1; // TensorProto.DataType.FLOAT

/** A float32 tensor with raw little-endian data (TensorProto). */
function tensor(name: string, dims: number[], data: Float32Array): Pb {
  const t = new Pb();
  for (const d of dims) t.int(1, d);
  t.int(2, FLOAT);
  t.str(8, name);
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  t.bytes(9, raw);
  return t;
}

/** ValueInfoProto of a float32 [batch, width] tensor (dim 0 symbolic: "batch"). */
function valueInfo(name: string, width: number): Pb {
  const batch = new Pb().str(2, 'batch');
  const w = new Pb().int(1, width);
  const shape = new Pb().msg(1, batch).msg(1, w);
  const tensorType = new Pb().int(1, FLOAT).msg(2, shape);
  const type = new Pb().msg(1, tensorType);
  return new Pb().str(1, name).msg(2, type);
}

function node(op: string, inputs: string[], outputs: string[], name: string): Pb {
  const n = new Pb();
  for (const i of inputs) n.str(1, i);
  for (const o of outputs) n.str(2, o);
  n.str(3, name);
  n.str(4, op);
  return n;
}

/** One dense layer: weights [inputs × outputs] row-major, bias [outputs]. */
export interface DenseLayer {
  weights: Float32Array;
  bias: Float32Array;
  /** ReLU after the layer (default: on every layer but the last). */
  relu?: boolean;
}

export interface MlpSpec {
  /** Layer widths, input first: [16, 32, 4] is 16 → 32 → 4. */
  widths: number[];
  layers: DenseLayer[];
  inputName?: string;
  outputName?: string;
  /** Stored in the model (producer, graph name). */
  name?: string;
}

/** The ONNX bytes of a dense network (MatMul + Add + Relu per layer; dynamic batch). */
export function writeMlp(spec: MlpSpec): Uint8Array {
  const { widths, layers } = spec;
  if (widths.length < 2 || layers.length !== widths.length - 1) {
    throw new ConduitError(ErrorCodes.INVALID_OPTION, 'writeMlp: widths needs one more entry than layers');
  }
  const input = spec.inputName ?? 'input';
  const output = spec.outputName ?? 'output';
  const graph = new Pb();
  let x = input;
  layers.forEach((l, i) => {
    const [inW, outW] = [widths[i], widths[i + 1]];
    if (l.weights.length !== inW * outW || l.bias.length !== outW) {
      throw new ConduitError(ErrorCodes.INVALID_OPTION, `writeMlp: layer ${i} needs ${inW}×${outW} weights and ${outW} biases`);
    }
    const last = i === layers.length - 1;
    const relu = l.relu ?? !last;
    const mm = `l${i}_mm`;
    const sum = last && !relu ? output : `l${i}_add`;
    graph.msg(1, node('MatMul', [x, `l${i}_w`], [mm], `l${i}_matmul`));
    graph.msg(1, node('Add', [mm, `l${i}_b`], [sum], `l${i}_bias`));
    x = sum;
    if (relu) {
      const out = last ? output : `l${i}_relu`;
      graph.msg(1, node('Relu', [sum], [out], `l${i}_relu`));
      x = out;
    }
  });
  graph.str(2, spec.name ?? 'mlp');
  layers.forEach((l, i) => {
    graph.msg(5, tensor(`l${i}_w`, [widths[i], widths[i + 1]], l.weights));
    graph.msg(5, tensor(`l${i}_b`, [widths[i + 1]], l.bias));
  });
  graph.msg(11, valueInfo(input, widths[0]));
  graph.msg(12, valueInfo(output, widths[widths.length - 1]));
  const model = new Pb();
  model.int(1, 8); // ir_version
  model.str(2, 'conduit');
  model.msg(7, graph);
  model.msg(8, new Pb().str(1, '').int(2, 17)); // opset_import: ai.onnx 17
  return model.done();
}

/** A deterministic MLP (seeded weights, Xavier-like scale): test, demo and benchmark models. */
export function seededMlp(widths: number[], seed = 1): MlpSpec {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
  const layers: DenseLayer[] = [];
  for (let i = 0; i + 1 < widths.length; i++) {
    const [a, b] = [widths[i], widths[i + 1]];
    const scale = Math.sqrt(6 / (a + b));
    const weights = new Float32Array(a * b);
    for (let k = 0; k < weights.length; k++) weights[k] = (rnd() * 2 - 1) * scale;
    const bias = new Float32Array(b);
    for (let k = 0; k < b; k++) bias[k] = (rnd() * 2 - 1) * 0.1;
    layers.push({ weights, bias });
  }
  return { widths, layers };
}

/** The network's output for rows of input, in float64 JS (the reference the tests compare with). */
export function mlpReference(spec: MlpSpec, input: Float32Array, rows: number): Float64Array {
  let x = Float64Array.from(input);
  spec.layers.forEach((l, i) => {
    const [a, b] = [spec.widths[i], spec.widths[i + 1]];
    const y = new Float64Array(rows * b);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < b; j++) {
        let acc = l.bias[j];
        for (let k = 0; k < a; k++) acc += x[r * a + k] * l.weights[k * b + j];
        const relu = l.relu ?? i !== spec.layers.length - 1;
        y[r * b + j] = relu && acc < 0 ? 0 : acc;
      }
    }
    x = y;
  });
  return x;
}
