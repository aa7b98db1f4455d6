// Dynamic batching for one model (Triton's dynamic batcher, in small): requests queue,
// and a batch is run when it is full, when the queue stops growing (the end of the
// current event-loop turn), or at maxQueueDelayMs at the latest. Rows are concatenated
// along dimension 0 and the outputs split back per request. One batch runs at a time per
// batcher (one session); what arrives meanwhile forms the next batch.

import { ConduitError, ErrorCodes } from '../errors.js';
import type { TensorValue, TypedData } from './model.js';

export interface BatcherOptions {
  /** Most rows in one run (default 32). A request with more rows runs alone. */
  maxBatchSize?: number;
  /**
   * Longest a request waits for its batch to grow (ms; default 0: a batch goes at the end
   * of the event-loop turn its requests came in, or as soon as the one running ends).
   */
  maxQueueDelayMs?: number;
  /** Batch sizes the model runs best at: a batch is cut to the largest that fits. */
  preferredBatchSizes?: number[];
  /** Most requests waiting (default 1,024); more are refused (CONDUIT_ERR_QUEUE_FULL, a 503). */
  maxQueue?: number;
  /**
   * Longest a request may wait in the queue before it runs (ms; default 30,000; 0: no limit):
   * then it fails with CONDUIT_ERR_QUEUE_TIMEOUT (a 503) — a model that stalls does not
   * hold its callers forever.
   */
  queueTimeoutMs?: number;
}

export type RunBatch = (inputs: Record<string, TensorValue>) => Promise<Record<string, TensorValue>>;

/**
 * A cheaper AbortSignal for callers that cancel from code (the inference worker, per
 * request): infer() sets `cancel`, which takes the request out of the queue if it has not run.
 */
export interface CancelToken {
  cancel?: (reason: unknown) => void;
}

interface Pending {
  inputs: Record<string, TensorValue>;
  rows: number;
  /** The non-batch dimensions of every input: requests batch only with equal ones. */
  key: string;
  signal: AbortSignal | CancelToken | undefined;
  resolve(v: Record<string, TensorValue>): void;
  reject(e: unknown): void;
  at: number;
  onAbort: (() => void) | null;
}

export interface BatcherStats {
  requests: number;
  batches: number;
  /** Batch size (rows) → batches run with it. */
  batchSizes: Record<number, number>;
  /** Total ms requests waited in the queue, and ms spent in run(). */
  queueMs: number;
  computeMs: number;
  /** Requests dropped before they ran (their client went away). */
  dropped: number;
  /** Requests refused because the queue was full. */
  refused: number;
  /** Requests that waited past queueTimeoutMs. */
  timedOut: number;
}

export class DynamicBatcher {
  private readonly queue: Pending[] = [];
  private running = false;
  private scheduled = false;
  private lastSeen = 0;
  private timer: NodeJS.Timeout | null = null;
  readonly maxBatchSize: number;
  readonly maxQueueDelayMs: number;
  readonly preferred: number[];
  readonly maxQueue: number;
  readonly queueTimeoutMs: number;
  readonly stats: BatcherStats = { requests: 0, batches: 0, batchSizes: {}, queueMs: 0, computeMs: 0, dropped: 0, refused: 0, timedOut: 0 };
  /** Sweeps the queue for requests past queueTimeoutMs while it holds any. */
  private sweeper: NodeJS.Timeout | null = null;

  constructor(private readonly run: RunBatch, options: BatcherOptions = {}) {
    const int = (name: string, v: number, min: number) => {
      if (!Number.isSafeInteger(v) || v < min) throw new ConduitError(ErrorCodes.INVALID_OPTION, `${name} must be an integer ≥ ${min}, got ${v}`);
      return v;
    };
    this.maxBatchSize = int('maxBatchSize', options.maxBatchSize ?? 32, 1);
    this.maxQueueDelayMs = int('maxQueueDelayMs', options.maxQueueDelayMs ?? 0, 0);
    this.maxQueue = int('maxQueue', options.maxQueue ?? 1024, 1);
    this.queueTimeoutMs = int('queueTimeoutMs', options.queueTimeoutMs ?? 30_000, 0);
    this.preferred = [...(options.preferredBatchSizes ?? [])].map((n) => int('preferredBatchSizes[]', n, 1)).sort((a, b) => b - a);
  }

  /** Requests waiting now. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Runs `inputs` (every input with the same number of rows in dimension 0) in a batch
   * with others; resolves with this request's rows of every output. An aborted signal
   * takes the request out of the queue (rejects with the signal's reason) if it has not
   * run yet.
   */
  infer(inputs: Record<string, TensorValue>, signal?: AbortSignal | CancelToken): Promise<Record<string, TensorValue>> {
    const abortSignal = signal !== undefined && 'aborted' in signal ? signal : undefined;
    if (abortSignal?.aborted) return Promise.reject(abortSignal.reason);
    if (this.queue.length >= this.maxQueue) {
      this.stats.refused++;
      return Promise.reject(new ConduitError(ErrorCodes.QUEUE_FULL, `the model's queue is full (${this.maxQueue} requests waiting)`));
    }
    const names = Object.keys(inputs).sort();
    let rows = -1;
    let key = '';
    for (const n of names) {
      const d = inputs[n].dims;
      if (d.length === 0) throw new ConduitError(ErrorCodes.INVALID_TENSOR, `input '${n}' has no batch dimension`);
      if (rows === -1) rows = d[0];
      else if (d[0] !== rows) throw new ConduitError(ErrorCodes.INVALID_TENSOR, `inputs disagree on the batch dimension (${rows} and ${d[0]} rows)`);
      key += `${n}:${inputs[n].type}:${d.slice(1).join('x')};`;
    }
    return new Promise((resolve, reject) => {
      const p: Pending = {
        inputs, rows, key, signal, at: performance.now(), onAbort: null,
        resolve: (v) => {
          if (p.onAbort !== null) abortSignal?.removeEventListener('abort', p.onAbort);
          resolve(v);
        },
        reject: (e) => {
          if (p.onAbort !== null) abortSignal?.removeEventListener('abort', p.onAbort);
          reject(e);
        },
      };
      const drop = (reason: unknown) => {
        const i = this.queue.indexOf(p);
        if (i < 0) return; // (already running: it finishes)
        this.queue.splice(i, 1);
        this.stats.dropped++;
        p.reject(reason);
      };
      if (abortSignal !== undefined) {
        p.onAbort = () => drop(abortSignal.reason);
        abortSignal.addEventListener('abort', p.onAbort, { once: true });
      } else if (signal !== undefined) (signal as CancelToken).cancel = drop;
      this.queue.push(p);
      this.stats.requests++;
      this.kick();
      if (this.queueTimeoutMs > 0 && this.sweeper === null) {
        this.sweeper = setInterval(() => this.sweep(), Math.max(10, Math.min(1000, this.queueTimeoutMs / 4)));
        this.sweeper.unref();
      }
    });
  }

  /** Fails the requests that waited past queueTimeoutMs; stops when the queue is empty. */
  private sweep(): void {
    const now = performance.now();
    for (let i = 0; i < this.queue.length;) {
      const p = this.queue[i];
      if (now - p.at < this.queueTimeoutMs) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.stats.timedOut++;
      p.reject(new ConduitError(ErrorCodes.QUEUE_TIMEOUT, `the request waited ${Math.round(now - p.at)} ms in the model's queue (queueTimeoutMs ${this.queueTimeoutMs})`));
    }
    if (this.queue.length === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  private kick(): void {
    if (this.running || this.queue.length === 0 || this.scheduled) return;
    // (even a full batch waits for the end of the turn: cancellations that came with it
    // are in by then)
    this.scheduled = true;
    this.lastSeen = this.queue.length;
    setImmediate(() => this.turnEnded());
  }

  /** The event-loop turn ended: the queue stopped growing (or waits for a bigger batch). */
  private turnEnded(): void {
    this.scheduled = false;
    if (this.running || this.queue.length === 0) return;
    const waited = performance.now() - this.queue[0].at;
    let rows = 0;
    for (const p of this.queue) rows += p.rows;
    if (this.maxQueueDelayMs > 0 && waited < this.maxQueueDelayMs && rows < this.maxBatchSize) {
      // Growing still: look again next turn; at the deadline at the latest.
      if (this.queue.length > this.lastSeen) {
        this.lastSeen = this.queue.length;
        this.scheduled = true;
        setImmediate(() => this.turnEnded());
        return;
      }
      if (this.timer === null) {
        this.timer = setTimeout(() => {
          this.timer = null;
          if (!this.running) this.flush();
        }, this.maxQueueDelayMs - waited);
      }
      return;
    }
    this.flush();
  }

  /** Takes a batch from the head of the queue and runs it. */
  private flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.queue.length === 0) return;
    const head = this.queue[0];
    const batch: Pending[] = [];
    let rows = 0;
    let available = 0;
    for (const p of this.queue) if (p.key === head.key) available += p.rows;
    // A preferred size when one fits what is there.
    let limit = this.maxBatchSize;
    for (const size of this.preferred) {
      if (size <= Math.min(available, this.maxBatchSize)) {
        limit = size;
        break;
      }
    }
    for (let i = 0; i < this.queue.length;) {
      const p = this.queue[i];
      if (p.key !== head.key || (batch.length > 0 && rows + p.rows > limit)) {
        i++;
        continue;
      }
      batch.push(p);
      rows += p.rows;
      this.queue.splice(i, 1);
      if (rows >= limit) break;
    }
    this.running = true;
    void this.execute(batch, rows);
  }

  private async execute(batch: Pending[], rows: number): Promise<void> {
    const t0 = performance.now();
    for (const p of batch) this.stats.queueMs += t0 - p.at;
    this.stats.batches++;
    this.stats.batchSizes[rows] = (this.stats.batchSizes[rows] ?? 0) + 1;
    try {
      const out = await this.run(batch.length === 1 ? batch[0].inputs : concat(batch, rows));
      this.stats.computeMs += performance.now() - t0;
      if (batch.length === 1) batch[0].resolve(out);
      else split(batch, rows, out);
    } catch (e) {
      this.stats.computeMs += performance.now() - t0;
      for (const p of batch) p.reject(e);
    } finally {
      this.running = false;
        // The next batch after the event loop had a turn: messages that waited while run()
      // held the thread (new requests, cancellations) are in before it is cut.
      this.kick();
    }
  }
}

function concat(batch: Pending[], rows: number): Record<string, TensorValue> {
  const out: Record<string, TensorValue> = {};
  for (const name of Object.keys(batch[0].inputs)) {
    const first = batch[0].inputs[name];
    const per = first.dims.slice(1).reduce((a, b) => a * b, 1);
    const Ctor = first.data.constructor as new (n: number) => TypedData;
    const data = new Ctor(rows * per);
    let at = 0;
    for (const p of batch) {
      const d = p.inputs[name].data;
      (data as { set(a: ArrayLike<number | bigint>, o: number): void }).set(d as ArrayLike<number | bigint>, at);
      at += d.length;
    }
    out[name] = { type: first.type, data, dims: [rows, ...first.dims.slice(1)] };
  }
  return out;
}

function split(batch: Pending[], rows: number, out: Record<string, TensorValue>): void {
  const parts: Array<Record<string, TensorValue>> = batch.map(() => ({}));
  for (const [name, t] of Object.entries(out)) {
    if (t.dims[0] !== rows) {
      for (const p of batch) p.reject(new ConduitError(ErrorCodes.INVALID_TENSOR, `output '${name}' has ${t.dims[0]} rows for a batch of ${rows}: the model cannot be batched`));
      return;
    }
    const per = t.data.length / rows;
    let r = 0;
    batch.forEach((p, i) => {
      parts[i][name] = { type: t.type, data: t.data.subarray(r * per, (r + p.rows) * per) as TypedData, dims: [p.rows, ...t.dims.slice(1)] };
      r += p.rows;
    });
  }
  batch.forEach((p, i) => p.resolve(parts[i]));
}
