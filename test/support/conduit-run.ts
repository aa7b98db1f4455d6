// Drives Conduit's HttpParser over a list of chunks and returns a plain result that tests
// can compare across builds, split points and the llhttp oracle.
import { HttpParser, WasmCore, STATUS_INFO, type WasmVariant } from '../../src/index.js';

export interface RunMessage {
  method: string;
  target: string;
  versionMinor: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
  trailers: Array<[string, string]>;
  keepAlive: boolean;
  upgrade: boolean;
  complete: boolean;
}

export interface RunResult {
  messages: RunMessage[];
  error: null | { status: string; http: number; offset: number };
  upgraded: boolean;
}

const cores = new Map<WasmVariant, WasmCore>();
export function core(variant: WasmVariant): WasmCore {
  let c = cores.get(variant);
  if (c === undefined) {
    c = new WasmCore({ variant, slotCount: 8 });
    cores.set(variant, c);
  }
  return c;
}

export const VARIANTS: WasmVariant[] = ['simd', 'scalar'];

export function run(variant: WasmVariant, chunks: Uint8Array[], limits: Record<string, number> = {}): RunResult {
  const messages: RunMessage[] = [];
  let cur: RunMessage | null = null;
  let bodyParts: Uint8Array[] = [];
  const parser = new HttpParser({
    core: core(variant),
    ...limits,
    onHead(h) {
      cur = {
        method: h.method, target: h.target, versionMinor: h.version === '1.1' ? 1 : 0,
        headers: h.headers, body: new Uint8Array(0), trailers: [], keepAlive: h.keepAlive,
        upgrade: h.upgrade || h.connect, complete: false,
      };
      messages.push(cur);
      bodyParts = [];
    },
    onBody(chunk) {
      bodyParts.push(chunk.slice());
    },
    onMessageComplete(trailers) {
      cur!.body = Buffer.concat(bodyParts);
      cur!.trailers = trailers ?? [];
      cur!.complete = true;
    },
  });
  try {
    let err = null;
    for (const c of chunks) {
      err = parser.execute(c);
      if (err !== null) break;
    }
    if (cur !== null && !(cur as RunMessage).complete) (cur as RunMessage).body = Buffer.concat(bodyParts);
    return {
      messages,
      error: err === null ? null : { status: STATUS_INFO[err.parserStatus].name, http: err.status, offset: err.offset },
      upgraded: parser.upgradeData !== null,
    };
  } finally {
    parser.destroy();
  }
}

/** The input cut at one point. */
export function split2(bytes: Uint8Array, at: number): Uint8Array[] {
  return [bytes.subarray(0, at), bytes.subarray(at)];
}

/** The input in pieces of `size` bytes. */
export function pieces(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}
