// The KServe v2 / Open Inference Protocol routes on an App: health, server and model
// metadata, infer (JSON tensors), statistics and repository control, answered from an
// InferenceClient (models run in its worker, never on this event loop). Errors are
// `{"error": "..."}`: 400 for a request that does not fit the model, 404 for an unknown
// model or version, 413 for a body over the limit (before it is read), 503 when a queue
// is full or the worker is gone.

import type { Handler, Request, Response, RouteOptions } from '../http/api.js';
import type { InferenceClient } from './inference.js';
import { ErrorCodes } from '../errors.js';
import { typedArrayOf, type TensorValue, type TypedData } from './model.js';

export interface KserveOptions {
  /** Largest infer body (default 16 MiB): 413 before reading when Content-Length says more. */
  maxBodyBytes?: number;
  /** Server name and version for GET /v2. */
  name?: string;
  version?: string;
}

/** What the routes need of an App (createServer()). */
export interface RouteTarget {
  route(method: string | string[], pattern: string, handler: Handler, options?: RouteOptions): unknown;
}

/** KServe datatypes and onnxruntime tensor types, both ways. */
const TO_ORT: Record<string, string> = {
  FP32: 'float32', FP64: 'float64', INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64',
  UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64', BOOL: 'bool',
};
const TO_KSERVE: Record<string, string> = Object.fromEntries(Object.entries(TO_ORT).map(([k, v]) => [v, k]));

class BadRequest extends Error {}

function send(res: Response, status: number, body: unknown): void {
  if (res.sent) return;
  res.status(status).header('Content-Type', 'application/json').send(JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
}

/** Status of an error from the client or the worker. */
function statusOf(e: unknown): number {
  const code = (e as { code?: string })?.code;
  if (e instanceof BadRequest || code === ErrorCodes.INVALID_TENSOR) return 400;
  if (code === ErrorCodes.MODEL_NOT_FOUND) return 404;
  if (code === ErrorCodes.MODEL_BUSY) return 409;
  return UNAVAILABLE.has(code as string) ? 503 : 500;
}
const UNAVAILABLE = new Set<string>([ErrorCodes.QUEUE_FULL, ErrorCodes.MODEL_MEMORY, ErrorCodes.WORKER_EXITED, ErrorCodes.DEVICE_UNAVAILABLE, ErrorCodes.MODEL_LOAD]);
function fail(res: Response, e: unknown): void {
  const status = statusOf(e);
  if (status === 503) res.header('Retry-After', '1');
  send(res, status, { error: status === 500 ? 'internal error' : (e as Error).message });
}

/** Flattens nested `data` arrays (row-major), checking every leaf. */
function flatten(data: unknown, out: unknown[]): void {
  if (Array.isArray(data)) for (const x of data) flatten(x, out);
  else out.push(data);
}

/** One input of an infer request as a tensor, checked: datatype, shape, data count. */
function tensorOf(input: Record<string, unknown>, i: number): [string, TensorValue] {
  const where = `inputs[${i}]`;
  if (typeof input?.name !== 'string') throw new BadRequest(`${where}: name must be a string`);
  const type = TO_ORT[input.datatype as string];
  if (type === undefined) throw new BadRequest(`${where} (${input.name}): datatype ${JSON.stringify(input.datatype)} is not one of ${Object.keys(TO_ORT).join(', ')}`);
  const shape = input.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new BadRequest(`${where} (${input.name}): shape must be an array of non-negative integers`);
  const n = (shape as number[]).reduce((a, b) => a * b, 1);
  const flat: unknown[] = [];
  flatten(input.data, flat);
  if (flat.length !== n) throw new BadRequest(`${where} (${input.name}): ${flat.length} values for shape [${shape.join(', ')}] (${n} expected)`);
  const data = new (typedArrayOf(type) as new (n: number) => TypedData)(n);
  for (let k = 0; k < n; k++) {
    const v = flat[k];
    if (type === 'bool') {
      if (typeof v !== 'boolean') throw new BadRequest(`${where} (${input.name}): data[${k}] must be a boolean`);
      (data as Uint8Array)[k] = v ? 1 : 0;
    } else if (type === 'int64' || type === 'uint64') {
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new BadRequest(`${where} (${input.name}): data[${k}] must be an integer`);
      (data as BigInt64Array)[k] = BigInt(v);
    } else {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadRequest(`${where} (${input.name}): data[${k}] must be a finite number`);
      if (type !== 'float32' && type !== 'float64' && !Number.isInteger(v)) throw new BadRequest(`${where} (${input.name}): data[${k}] must be an integer for ${input.datatype as string}`);
      (data as Float32Array)[k] = v;
    }
  }
  return [input.name, { type, data, dims: shape as number[] }];
}

function outputJson(name: string, t: TensorValue): Record<string, unknown> {
  const data = t.type === 'bool' ? Array.from(t.data as Uint8Array, (x) => x !== 0) : Array.from(t.data as ArrayLike<number>);
  return { name, datatype: TO_KSERVE[t.type] ?? t.type.toUpperCase(), shape: t.dims, data };
}

const datatypeOf = (ortType: string) => TO_KSERVE[ortType] ?? ortType.toUpperCase();

/** Adds the KServe v2 routes for the models of `client`. */
export function serveKserve(app: RouteTarget, client: InferenceClient, options: KserveOptions = {}): void {
  const maxBody = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const guard = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response) => fn(req, res).catch((e) => fail(res, e));

  app.route('GET', '/v2/health/live', (_q, res) => send(res, 200, { live: true }));
  app.route('GET', '/v2/health/ready', (_q, res) => send(res, 200, { ready: true }));
  app.route('GET', '/v2', (_q, res) => send(res, 200, { name: options.name ?? 'conduit', version: options.version ?? '0', extensions: ['model_repository', 'statistics'] }));

  const metadata = guard(async (req, res) => {
    const m = await client.metadata(req.params.model as string, req.params.version as string | undefined);
    send(res, 200, {
      name: m.name, versions: m.versions, platform: 'onnxruntime_onnx',
      inputs: m.inputs.map((t) => ({ name: t.name, datatype: datatypeOf(t.type), shape: t.shape.map((d) => d ?? -1) })),
      outputs: m.outputs.map((t) => ({ name: t.name, datatype: datatypeOf(t.type), shape: t.shape.map((d) => d ?? -1) })),
    });
  });
  app.route('GET', '/v2/models/:model', metadata);
  app.route('GET', '/v2/models/:model/versions/:version', metadata);

  const ready = guard(async (req, res) => {
    await client.metadata(req.params.model as string, req.params.version as string | undefined);
    send(res, 200, { name: req.params.model, ready: true });
  });
  app.route('GET', '/v2/models/:model/ready', ready);
  app.route('GET', '/v2/models/:model/versions/:version/ready', ready);

  const infer = guard(async (req, res) => {
    let body: Uint8Array;
    try {
      body = await req.bytes(maxBody);
    } catch (e) {
      if ((e as { status?: number }).status === 413) send(res, 413, { error: `the request body is larger than ${maxBody} bytes` });
      return;
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new BadRequest(`the body is not valid JSON (${(e as Error).message})`);
    }
    if (parsed === null || typeof parsed !== 'object' || !Array.isArray(parsed.inputs) || parsed.inputs.length === 0) {
      throw new BadRequest('the body must be an object with a non-empty "inputs" array');
    }
    const inputs: Record<string, TensorValue> = {};
    (parsed.inputs as Array<Record<string, unknown>>).forEach((x, i) => {
      const [name, t] = tensorOf(x, i);
      if (inputs[name] !== undefined) throw new BadRequest(`input ${name} is given twice`);
      inputs[name] = t;
    });
    let outputs: string[] | undefined;
    if (parsed.outputs !== undefined) {
      if (!Array.isArray(parsed.outputs) || !parsed.outputs.every((o) => typeof (o as { name?: unknown })?.name === 'string')) {
        throw new BadRequest('"outputs" must be an array of { "name": ... }');
      }
      outputs = (parsed.outputs as Array<{ name: string }>).map((o) => o.name);
    }
    // The client going away cancels the request if it has not run.
    const ac = new AbortController();
    res.onAborted(() => ac.abort());
    const model = req.params.model as string;
    const version = req.params.version as string | undefined;
    const out = await client.infer(model, inputs, { version, outputs, signal: ac.signal });
    const reply: Record<string, unknown> = { model_name: model };
    if (version !== undefined) reply.model_version = version;
    if (typeof parsed.id === 'string') reply.id = parsed.id;
    reply.outputs = Object.entries(out).map(([name, t]) => outputJson(name, t));
    send(res, 200, reply);
  });
  app.route('POST', '/v2/models/:model/infer', infer, { stream: true });
  app.route('POST', '/v2/models/:model/versions/:version/infer', infer, { stream: true });

  app.route('GET', '/v2/models/:model/stats', guard(async (req, res) => {
    const all = (await client.stats()) as { models: Array<{ name: string; version: string; state: string; bytes: number; stats: unknown }> };
    const mine = all.models.filter((m) => m.name === req.params.model);
    if (mine.length === 0) {
      send(res, 404, { error: `unknown model ${req.params.model as string}` });
      return;
    }
    send(res, 200, { model_stats: mine });
  }));
  app.route('POST', '/v2/repository/index', guard(async (_req, res) => {
    const all = (await client.stats()) as { models: Array<{ name: string; version: string; state: string }> };
    send(res, 200, all.models.map((m) => ({ name: m.name, version: m.version, state: m.state.toUpperCase() })));
  }));
  app.route('POST', '/v2/repository/models/:model/load', guard(async (req, res) => {
    await client.load(req.params.model as string);
    send(res, 200, {});
  }));
  app.route('POST', '/v2/repository/models/:model/unload', guard(async (req, res) => {
    await client.unload(req.params.model as string);
    send(res, 200, {});
  }));
}
