// The server's one inference worker, seen from its worker instances. Threads get a
// MessagePort to it (and a new one when it was started again); processes, which cannot
// share memory or ports with it, reach it through the supervisor: their messages go over
// IPC with the tensors' data in ordinary memory, and the supervisor passes them on.

import type { MessagePort } from 'node:worker_threads';
import type { InferenceConnector, InferencePort } from '../ml/inference.js';
import { unsharedPack, type Pack } from '../ml/wire-tensors.js';
import type { MlRelay } from './messages.js';

/** A message whose tensors may cross a process boundary (no SharedArrayBuffer in it). */
export function unsharedMessage(m: unknown): unknown {
  const x = m as { type?: string };
  return x?.type === 'requests' || x?.type === 'results' ? unsharedPack(m as Pack) : m;
}

type Listener = (m: never) => void;

/** A port to the inference worker through the supervisor (worker processes). */
class RelayPort implements InferencePort {
  private readonly listeners = { message: [] as Listener[], close: [] as Listener[] };
  closed = false;
  constructor(private readonly send: (m: MlRelay) => void) {}
  postMessage(m: unknown): void {
    if (!this.closed) this.send({ type: 'ml', m: unsharedMessage(m) });
  }
  on(event: 'message' | 'close', cb: Listener): this {
    this.listeners[event].push(cb);
    return this;
  }
  deliver(m: unknown): void {
    for (const cb of this.listeners.message) cb(m as never);
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const cb of this.listeners.close) (cb as () => void)();
  }
}

/**
 * The connector of a worker instance: its port to the inference worker, replaced when the
 * supervisor says the worker was started again.
 */
export class InstanceInference implements InferenceConnector {
  private onPort: ((port: InferencePort) => void) | null = null;
  private port: InferencePort | null;
  private relay: RelayPort | null = null;

  constructor(how: { port: MessagePort | null } | { relay: true }, private readonly send: (m: MlRelay) => void) {
    if ('relay' in how) this.port = this.relay = new RelayPort(send);
    else this.port = how.port;
  }

  connect(onPort: (port: InferencePort) => void): () => void {
    this.onPort = onPort;
    if (this.port !== null) onPort(this.port);
    return () => (this.onPort = null);
  }

  /** The supervisor's 'inference-port' (a new worker) and relayed 'ml' messages. */
  newPort(port: MessagePort | undefined): void {
    if (port === undefined) {
      this.relay?.close();
      this.port = this.relay = new RelayPort(this.send);
    } else this.port = port;
    this.onPort?.(this.port);
  }

  relayed(m: MlRelay): void {
    this.relay?.deliver(m.m);
  }
}
