// An ONNX model on onnxruntime-node: loading with an execution provider chosen as the
// user asked (auto: CUDA, then CPU, saying why; an explicit device never falls back),
// the model's inputs and outputs from its metadata, and run() with inputs checked against
// them first. onnxruntime-node is loaded on first use, so the rest of Conduit never pays
// for it. (session.run() works on the calling thread: servers call it from inference
// workers, not from a network event loop.)

import { existsSync, readdirSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ConduitError, ErrorCodes } from '../errors.js';

export type Device = 'auto' | 'cuda' | 'webgpu' | 'cpu';
export type TensorType = 'float32' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool' | 'float16';

/** An input or output of a model: its element type and shape (null: a symbolic dimension). */
export interface TensorInfo {
  name: string;
  type: TensorType | string;
  /** Dimensions; a string or -1 from the model is reported as null (any size). */
  shape: Array<number | null>;
}

export type TypedData = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array;

export interface TensorValue {
  type: TensorType | string;
  data: TypedData;
  dims: number[];
}

export interface ModelOptions {
  /** Where it runs (default 'auto': CUDA when its provider loads, else CPU). */
  device?: Device;
  /** Threads for one operator (onnxruntime intraOpNumThreads; default: onnxruntime's). */
  intraOpThreads?: number;
  /** Graph optimisation level (default 'all'). */
  graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
}

// The onnxruntime-node surface used (typed here: loaded with a dynamic import).
interface OrtTensor {
  type: string;
  data: TypedData;
  dims: readonly number[];
}
interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  inputMetadata?: ReadonlyArray<{ name: string; isTensor?: boolean; type?: string; shape?: ReadonlyArray<number | string> }>;
  outputMetadata?: ReadonlyArray<{ name: string; isTensor?: boolean; type?: string; shape?: ReadonlyArray<number | string> }>;
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(model: Uint8Array, options: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: string, data: TypedData, dims: readonly number[]) => OrtTensor;
}

let ortPromise: Promise<Ort> | null = null;
/** onnxruntime-node, loaded once, on first use. */
export function onnxruntime(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node').then((m) => ((m as { default?: Ort }).default ?? (m as unknown as Ort)));
  return ortPromise;
}

/** The typed array class of each tensor type (bool is bytes, float16 is its bits). */
export const TYPED_ARRAYS = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array,
  int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, bool: Uint8Array, float16: Uint16Array,
} as const satisfies Record<TensorType, unknown>;

/** The typed array class of a tensor type (undefined for another type). */
export function typedArrayOf(type: string): (typeof TYPED_ARRAYS)[TensorType] | undefined {
  return (TYPED_ARRAYS as Record<string, (typeof TYPED_ARRAYS)[TensorType]>)[type];
}

function info(m: { name: string; type?: string; shape?: ReadonlyArray<number | string> }): TensorInfo {
  return { name: m.name, type: m.type ?? 'unknown', shape: (m.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : null)) };
}

const loadError = (m: string) => new ConduitError(ErrorCodes.MODEL_LOAD, m);
const badTensor = (m: string) => new ConduitError(ErrorCodes.INVALID_TENSOR, m);

/** A loaded model. */
export class OnnxModel {
  private constructor(
    readonly name: string,
    /** Size of the model file (what a model registry budgets by). */
    readonly bytes: number,
    /** The execution provider it runs on. */
    readonly device: 'cuda' | 'webgpu' | 'cpu',
    /** Why that one (for the load log line): "CUDA EP not available (...): CPU". */
    readonly why: string,
    readonly inputs: TensorInfo[],
    readonly outputs: TensorInfo[],
    private readonly session: OrtSession,
    private readonly ort: Ort,
    /** How long the load took (ms). */
    readonly loadMs: number,
  ) {}

  /**
   * Loads a model from a path or bytes. Throws CONDUIT_ERR_MODEL_LOAD for a file that is
   * missing or not a model, CONDUIT_ERR_DEVICE_UNAVAILABLE when `device` names a provider
   * that does not load ('auto' falls back to CPU instead, and says why in `why`).
   */
  static async load(name: string, source: string | Uint8Array, options: ModelOptions = {}): Promise<OnnxModel> {
    const t0 = performance.now();
    let bytes: Uint8Array;
    if (typeof source === 'string') {
      try {
        if (!(await stat(source)).isFile()) throw new Error('not a file');
        bytes = await readFile(source);
      } catch (e) {
        throw loadError(`model ${name}: cannot read ${source}: ${(e as Error).message}`);
      }
    } else bytes = source;
    const device = options.device ?? 'auto';
    if (!['auto', 'cuda', 'webgpu', 'cpu'].includes(device)) {
      throw new ConduitError(ErrorCodes.INVALID_OPTION, `model ${name}: device must be auto, cuda, webgpu or cpu, got ${String(device)}`);
    }
    const ort = await onnxruntime();
    // No busy-waiting between runs: onnxruntime's pool threads spin by default, which on a
    // server burns a core per thread while requests are sparse.
    const base: Record<string, unknown> = {
      graphOptimizationLevel: options.graphOptimization ?? 'all',
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    };
    if (options.intraOpThreads !== undefined) base.intraOpNumThreads = options.intraOpThreads;
    // (a probe of CUDA under 'auto' that fails is said once, in `why`, not in onnxruntime's log)
    const tryCreate = (ep: string, quiet = false) =>
      ort.InferenceSession.create(bytes, { ...base, executionProviders: [ep], ...(quiet ? { logSeverityLevel: 4 } : {}) });

    let session: OrtSession;
    let got: 'cuda' | 'webgpu' | 'cpu';
    let why: string;
    if (device === 'cpu') {
      session = await tryCreate('cpu').catch((e: Error) => Promise.reject(loadError(`model ${name}: ${e.message}`)));
      got = 'cpu';
      why = 'asked for CPU';
    } else if (device === 'auto') {
      const missing = cudaProviderMissing();
      try {
        if (missing !== null) throw new Error(missing);
        session = await tryCreate('cuda', true);
        got = 'cuda';
        why = 'CUDA execution provider loaded';
      } catch (e) {
        session = await tryCreate('cpu').catch((e2: Error) => Promise.reject(loadError(`model ${name}: ${e2.message}`)));
        got = 'cpu';
        why = `CUDA execution provider not available (${firstLine(e)}; see README: GPU): using CPU`;
      }
    } else {
      try {
        const missing = device === 'cuda' ? cudaProviderMissing() : null;
        if (missing !== null) throw new Error(missing);
        session = await tryCreate(device);
      } catch (e) {
        // An explicit device never falls back silently.
        throw new ConduitError(ErrorCodes.DEVICE_UNAVAILABLE,
          `model ${name}: the ${device === 'cuda' ? 'CUDA' : 'WebGPU'} execution provider is not available: ${firstLine(e)} (see README: GPU; or use device 'auto' or 'cpu')`);
      }
      got = device;
      why = `asked for ${device}`;
    }
    const meta = (list: OrtSession['inputMetadata'], names: readonly string[]) =>
      list !== undefined && list.length > 0 ? list.map(info) : names.map((n) => ({ name: n, type: 'unknown', shape: [] }));
    return new OnnxModel(name, bytes.length, got, why, meta(session.inputMetadata, session.inputNames),
      meta(session.outputMetadata, session.outputNames), session, ort, performance.now() - t0);
  }

  /** The line a server logs for a load: name, size, provider and why, time. */
  get loadLine(): string {
    return `model ${this.name}: ${(this.bytes / 1024).toFixed(1)} KiB on ${this.device} (${this.why}), loaded in ${this.loadMs.toFixed(0)} ms`;
  }

  /**
   * Runs the model. Inputs are checked against the model first (every input given, no
   * unknown one, the element type, the rank, fixed dimensions, data length = product of
   * dims): CONDUIT_ERR_INVALID_TENSOR names the problem. `outputs` picks outputs (default all).
   */
  async run(inputs: Record<string, TensorValue>, outputs?: string[]): Promise<Record<string, TensorValue>> {
    this.check(inputs, outputs);
    const feeds: Record<string, OrtTensor> = {};
    for (const spec of this.inputs) {
      const v = inputs[spec.name];
      feeds[spec.name] = new this.ort.Tensor(v.type, v.data, v.dims);
    }
    const want = outputs ?? this.outputs.map((o) => o.name);
    const r = await this.session.run(feeds);
    const out: Record<string, TensorValue> = {};
    for (const o of want) out[o] = { type: r[o].type, data: r[o].data, dims: [...r[o].dims] };
    return out;
  }

  /** Checks inputs (and output names) against the model: CONDUIT_ERR_INVALID_TENSOR names the problem. */
  check(inputs: Record<string, TensorValue>, outputs?: string[]): void {
    for (const k of Object.keys(inputs)) if (!this.inputs.some((i) => i.name === k)) throw badTensor(`model ${this.name} has no input '${k}' (inputs: ${this.inputs.map((i) => i.name).join(', ')})`);
    for (const spec of this.inputs) {
      const v = inputs[spec.name];
      if (v === undefined) throw badTensor(`model ${this.name}: input '${spec.name}' is missing`);
      checkTensor(this.name, spec, v);
    }
    for (const o of outputs ?? []) if (!this.outputs.some((x) => x.name === o)) throw badTensor(`model ${this.name} has no output '${o}' (outputs: ${this.outputs.map((x) => x.name).join(', ')})`);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function checkTensor(model: string, spec: TensorInfo, v: TensorValue): void {
  const where = `model ${model}, input '${spec.name}'`;
  if (spec.type !== 'unknown' && v.type !== spec.type) throw badTensor(`${where}: type ${v.type}, the model takes ${spec.type}`);
  const Ctor = typedArrayOf(v.type);
  if (Ctor === undefined || !(v.data instanceof Ctor)) throw badTensor(`${where}: data must be a ${Ctor?.name ?? 'typed array'} for type ${v.type}`);
  if (!Array.isArray(v.dims) || v.dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw badTensor(`${where}: dims must be non-negative integers`);
  if (spec.shape.length > 0 && v.dims.length !== spec.shape.length) throw badTensor(`${where}: rank ${v.dims.length}, the model takes rank ${spec.shape.length} (${fmtShape(spec.shape)})`);
  spec.shape.forEach((d, i) => {
    if (d !== null && v.dims[i] !== d) throw badTensor(`${where}: dimension ${i} is ${v.dims[i]}, the model takes ${d} (${fmtShape(spec.shape)})`);
  });
  const n = v.dims.reduce((a, b) => a * b, 1);
  if (v.data.length !== n) throw badTensor(`${where}: ${v.data.length} values for dims [${v.dims.join(', ')}] (${n} expected)`);
}

const fmtShape = (s: Array<number | null>) => `[${s.map((d) => (d === null ? '?' : d)).join(', ')}]`;

/**
 * Why the CUDA provider cannot load, when its library is not beside onnxruntime-node's
 * binding (the npm package ships CPU only; see README: GPU) — checked before trying, so
 * that 'auto' on a CPU machine does not put onnxruntime's load error in the log. Null when
 * the library is there (or the layout is unknown: then loading it is tried).
 */
function cudaProviderMissing(): string | null {
  if (process.platform !== 'linux' && process.platform !== 'win32') return 'no CUDA provider on this platform';
  try {
    const root = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const bin = join(root, 'bin');
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    for (const napi of readdirSync(bin)) {
      const dir = join(bin, napi, process.platform, process.arch);
      if (existsSync(join(dir, lib))) return null;
    }
    return `${lib} is not installed beside onnxruntime-node`;
  } catch {
    return null;
  }
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0].slice(0, 200);
}
