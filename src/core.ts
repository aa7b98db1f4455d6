// conduit/core: the WASM kernels (HTTP parser, JSON-RPC tokenizer, SSE framer) with no
// `node:` import, for Node, Bun, Deno, browsers and workers. Nothing here reaches the
// network or the file system except to load the bundled .wasm when no source is given.
//
//   const core = await loadCore();            // or loadCore(bytes | URL | Module | Response)
//   core.parseHttpRequest(bytes);             // same functions and results as the package root

import {
  checkAbi, sharedMemoryDefault, simdSupported, unsharedModule, useModule, wasmUrl, WasmCore, type CoreExports, type WasmVariant,
} from './wasm/loader.js';
import { HttpParser, RequestHead, DEFAULT_LIMITS } from './http/parser.js';
import { parseHttpRequest, parseHttpHead } from './http/parse-request.js';
import { parseJsonRpc, validateJson, Envelope, JsonRpcErrorCode } from './jsonrpc/parse.js';
import { SseFramer } from './sse/framer.js';
import { SseDecoder } from './sse/decoder.js';
import { ConduitError, HttpParseError, ErrorCodes, SseErrorCodes } from './errors.js';
import { ABI, Status, STATUS_INFO, Events, MessageFlags } from './wasm/abi.generated.js';
import { nativeBuffer } from './wasm/text.js';

export { HttpParser, RequestHead, DEFAULT_LIMITS, parseHttpRequest, parseHttpHead, parseJsonRpc, validateJson, Envelope };
export { JsonRpcErrorCode, SseFramer, SseDecoder, ConduitError, HttpParseError, ErrorCodes, SseErrorCodes, WasmCore };
export { ABI, Status, STATUS_INFO, Events, MessageFlags, simdSupported };
export type { HttpParserOptions, HttpLimits, HeaderList, HeadValues } from './http/parser.js';
export type { ParsedRequest, HeadSpans } from './http/parse-request.js';
export type { JsonRpcId, JsonRpcOptions, JsonRpcParseResult, JsonRpcErrorObject, EnvelopeKind } from './jsonrpc/parse.js';
export type { SseEvent, SseFramerOptions } from './sse/framer.js';
export type { SseMessage, SseDecoderOptions } from './sse/decoder.js';
export type { CoreOptions, WasmVariant } from './wasm/loader.js';

/** Where the .wasm comes from: its bytes, a URL to fetch (or read, for file: URLs), a compiled module, or a fetch Response. */
export type CoreSource = Uint8Array | ArrayBuffer | URL | string | WebAssembly.Module | Response;

export interface LoadCoreOptions {
  /**
   * Shared memory (SharedArrayBuffer) or a plain one. Default: shared where the runtime has
   * SharedArrayBuffer. A plain memory needs the module's bytes (not a WebAssembly.Module):
   * its memory import is rewritten to unshared before it is compiled.
   */
  shared?: boolean;
  /** Without a source: which bundled build (default: SIMD where the runtime validates it). */
  variant?: WasmVariant;
}

/** What loadCore() gives: the kernels' API (the same objects as the module's exports) and how it runs. */
export interface Core {
  /** The build in use. */
  variant: WasmVariant;
  /** Whether cores use shared memory. */
  shared: boolean;
  /** Whether strings are made with the runtime's Buffer (else portable code, same results). */
  buffer: boolean;
  parseHttpRequest: typeof parseHttpRequest;
  parseHttpHead: typeof parseHttpHead;
  HttpParser: typeof HttpParser;
  parseJsonRpc: typeof parseJsonRpc;
  validateJson: typeof validateJson;
  SseFramer: typeof SseFramer;
  SseDecoder: typeof SseDecoder;
  HttpParseError: typeof HttpParseError;
  ConduitError: typeof ConduitError;
  WasmCore: typeof WasmCore;
}

interface Compiled { variant: WasmVariant; module: WebAssembly.Module; bytes: Uint8Array<ArrayBuffer> | undefined }
/** The bundled build, read and compiled once per realm (per variant asked for). */
const bundled = new Map<WasmVariant | 'auto', Promise<Compiled>>();

/**
 * Loads the WASM core and returns the kernels. Without `source`, the bundled build next to
 * this module is read (file: URLs through the runtime's fs where it has one, otherwise
 * fetch) and compiled once. The build loaded last is the one every core in this realm
 * uses from then on.
 */
export async function loadCore(source?: CoreSource, options: LoadCoreOptions = {}): Promise<Core> {
  const shared = options.shared ?? (typeof SharedArrayBuffer === 'function' && sharedMemoryDefault());
  if (shared && typeof SharedArrayBuffer !== 'function') {
    throw new ConduitError(ErrorCodes.INVALID_OPTION, 'this runtime has no SharedArrayBuffer: load the core with { shared: false }');
  }
  let compiled: Compiled;
  if (source === undefined) {
    const key = options.variant ?? 'auto';
    let p = bundled.get(key);
    if (p === undefined) {
      p = compileBundled(options.variant);
      bundled.set(key, p);
      p.catch(() => bundled.delete(key));
    }
    compiled = await p;
    detectVariant(compiled.module, compiled.bytes, shared && typeof SharedArrayBuffer === 'function'); // (its ABI checked, as below)
  } else {
    compiled = await compileSource(source, shared);
  }
  const { variant, module, bytes } = compiled;
  if (!shared && bytes === undefined) {
    throw new ConduitError(ErrorCodes.INVALID_OPTION,
      'a plain (unshared) memory needs the .wasm bytes, not a compiled WebAssembly.Module: give loadCore() the bytes or a URL');
  }
  useModule(variant, module, bytes, { variant: true, shared });
  return {
    variant, shared, buffer: nativeBuffer,
    parseHttpRequest, parseHttpHead, HttpParser, parseJsonRpc, validateJson, SseFramer, SseDecoder, HttpParseError, ConduitError, WasmCore,
  };
}

async function compileBundled(asked: WasmVariant | undefined): Promise<Compiled> {
  let variant = asked ?? 'simd';
  let bytes = await readUrl(wasmUrl(variant));
  if (asked === undefined && !WebAssembly.validate(bytes)) {
    variant = 'scalar';
    bytes = await readUrl(wasmUrl(variant));
  }
  return { variant, module: await WebAssembly.compile(bytes), bytes };
}

async function compileSource(source: CoreSource, shared: boolean): Promise<Compiled> {
  if (source instanceof WebAssembly.Module) return { variant: detectVariant(source, undefined, shared), module: source, bytes: undefined };
  const bytes = source instanceof Uint8Array ? new Uint8Array(source) // (a copy: the host may reuse its buffer)
    : source instanceof ArrayBuffer ? new Uint8Array(source.slice(0))
    : typeof source === 'string' || source instanceof URL ? await readUrl(new URL(source, baseUrl()))
    : new Uint8Array(await source.arrayBuffer());
  const module = await WebAssembly.compile(bytes);
  return { variant: detectVariant(module, bytes, shared), module, bytes };
}

function baseUrl(): string {
  const loc = (globalThis as { location?: { href?: string } }).location;
  return typeof loc?.href === 'string' ? loc.href : import.meta.url;
}

interface SyncFs { readFileSync(path: URL): Uint8Array }

async function readUrl(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  if (url.protocol === 'file:') {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const fs = typeof proc?.getBuiltinModule === 'function' ? proc.getBuiltinModule('fs') as SyncFs | undefined : undefined;
    if (fs !== undefined) {
      try {
        return new Uint8Array(fs.readFileSync(url));
      } catch (err) {
        throw new ConduitError(ErrorCodes.WASM_ABI, `cannot read the WASM core ${url.href}: ${(err as Error).message}`);
      }
    }
  }
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new ConduitError(ErrorCodes.WASM_ABI, `cannot fetch the WASM core ${url.href}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new ConduitError(ErrorCodes.WASM_ABI, `cannot fetch the WASM core ${url.href}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Which build a module is (its ABI_SIMD global), read from a throwaway instance. */
function detectVariant(module: WebAssembly.Module, bytes: Uint8Array | undefined, shared: boolean): WasmVariant {
  if (!shared && bytes === undefined) {
    throw new ConduitError(ErrorCodes.INVALID_OPTION,
      'a plain (unshared) memory needs the .wasm bytes, not a compiled WebAssembly.Module: give loadCore() the bytes or a URL');
  }
  const names = WebAssembly.Module.exports(module).map((e) => e.name);
  if (!names.includes('ABI_SIMD') || !names.includes('http_execute')) {
    throw new ConduitError(ErrorCodes.WASM_ABI, 'this module is not the Conduit WASM core (no ABI_SIMD / http_execute export)');
  }
  const instantiate = (shared: boolean) => new WebAssembly.Instance(
    shared ? module : new WebAssembly.Module(unsharedModule(bytes!)),
    { env: { memory: new WebAssembly.Memory({ initial: 2, maximum: 2, shared }), abort: () => undefined } });
  const instance = instantiate(shared);
  const variant = (instance.exports.ABI_SIMD as WebAssembly.Global).value === 1 ? 'simd' : 'scalar';
  // (checked before it becomes every core's module: a module of another version is refused
  // here, and the build in use stays)
  checkAbi(instance.exports as unknown as CoreExports, variant);
  return variant;
}

