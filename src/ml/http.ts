// The KServe v2 / Open Inference Protocol routes on an App: health, server and model
// metadata, infer (JSON tensors), statistics and repository control, answered from an
// InferenceClient (models run in its worker, never on this event loop). Errors are
// `{"error": "..."}`: 400 for a request that does not fit the model, 404 for an unknown
// model or version, 413 for a body over the limit (before it is read), 503 when a queue
// is full or the worker is gone.

import type { Handler, Request, Response, RouteOptions } from '../http/api.js';
import type { InferenceClient } from './inference.js';
import { ErrorCodes } from '../errors.js';
import type { TensorValue } from './model.js';
import { fromHalf, ORT_TO_KSERVE, parseInferRequest, TensorRequestError } from './tensor-json.js';

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

class BadRequest extends Error {}

function send(res: Response, status: number, body: unknown): void {
  if (res.sent) return;
  res.status(status).header('Content-Type', 'application/json').send(JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
}

/** Status of an error from the client or the worker. */
function statusOf(e: unknown): number {
  const code = (e as { code?: string })?.code;
  if (e instanceof BadRequest || e instanceof TensorRequestError || code === ErrorCodes.INVALID_TENSOR) return 400;
  if (code === ErrorCodes.MODEL_NOT_FOUND) return 404;
  if (code === ErrorCodes.MODEL_BUSY) return 409;
  return UNAVAILABLE.has(code as string) ? 503 : 500;
}
const UNAVAILABLE = new Set<string>([ErrorCodes.QUEUE_FULL, ErrorCodes.QUEUE_TIMEOUT, ErrorCodes.MODEL_MEMORY, ErrorCodes.WORKER_EXITED, ErrorCodes.DEVICE_UNAVAILABLE, ErrorCodes.MODEL_LOAD]);
function fail(res: Response, e: unknown): void {
  const status = statusOf(e);
  if (status === 503) res.header('Retry-After', '1');
  send(res, status, { error: status === 500 ? 'internal error' : (e as Error).message });
}

/** An output tensor's JSON values (FP16 bits as numbers, BOOL as booleans). */
function jsonData(t: TensorValue): unknown[] {
  if (t.type === 'bool') return Array.from(t.data as Uint8Array, (x) => x !== 0);
  if (t.type === 'float16') return Array.from(t.data as Uint16Array, fromHalf);
  return Array.from(t.data as ArrayLike<number>);
}

const datatypeOf = (ortType: string) => ORT_TO_KSERVE[ortType] ?? ortType.toUpperCase();

/** Adds the KServe v2 routes for the models of `client`. */
export function serveKserve(app: RouteTarget, client: InferenceClient, options: KserveOptions = {}): void {
  const maxBody = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const guard = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response) => fn(req, res).catch((e) => fail(res, e));

  app.route('GET', '/v2/health/live', (_q, res) => send(res, 200, { live: true }));
  app.route('GET', '/v2/health/ready', (_q, res) => send(res, 200, { ready: true }));
  app.route('GET', '/v2', (_q, res) => send(res, 200, { name: options.name ?? 'conduit', version: options.version ?? '0', extensions: ['model_repository', 'statistics', 'binary_tensor_data'] }));

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
    // The binary tensor extension: the JSON is the first Inference-Header-Content-Length
    // bytes, the tensors' bytes follow.
    const hl = req.header('inference-header-content-length');
    if (hl !== undefined && !/^\d{1,15}$/.test(hl.trim())) throw new BadRequest(`Inference-Header-Content-Length must be a byte count, got ${JSON.stringify(hl)}`);
    const parsed = parseInferRequest(body, hl === undefined ? body.length : Number(hl.trim()));
    const inputs: Record<string, TensorValue> = {};
    for (const x of parsed.inputs) inputs[x.name] = x.tensor;
    const model = req.params.model as string;
    const version = req.params.version as string | undefined;
    // The client going away cancels the request if it has not run.
    const out = await client.infer(model, inputs, { version, outputs: parsed.outputs?.map((o) => o.name), onCancel: (cancel) => res.onAborted(cancel) });
    const reply: Record<string, unknown> = { model_name: model };
    if (version !== undefined) reply.model_version = version;
    if (parsed.id !== undefined) reply.id = parsed.id;
    const binary: Uint8Array[] = [];
    reply.outputs = Object.entries(out).map(([name, t]) => {
      const o: Record<string, unknown> = { name, datatype: datatypeOf(t.type), shape: t.dims };
      if (parsed.binaryOutputs || parsed.outputs?.find((x) => x.name === name)?.binary === true) {
        binary.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
        o.parameters = { binary_data_size: t.data.byteLength };
      } else o.data = jsonData(t);
      return o;
    });
    if (binary.length === 0) {
      send(res, 200, reply);
      return;
    }
    const head = Buffer.from(JSON.stringify(reply, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
    res.status(200).header('Content-Type', 'application/octet-stream').header('Inference-Header-Content-Length', String(head.length))
      .send(Buffer.concat([head, ...binary]));
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
