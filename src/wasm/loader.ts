// Loads the WASM core: picks the SIMD or scalar build, creates the memory (TypeScript
// owns it), instantiates, and checks the module's layout against the generated mirror.
//
// One WasmCore = one WebAssembly.Memory + one instance + one buffer pool. The memory is
// shared (so native code and other threads may later hold a pointer into it) with
// initial == maximum, so it never grows and views over it never go stale. Where the
// runtime has no SharedArrayBuffer, a core can use a plain memory (`shared: false`): the
// module's memory import is rewritten to unshared before it is compiled (unsharedModule).
//
// No `node:` import, so that conduit/core runs in Bun, Deno and browsers: the .wasm is
// read with the runtime's fs where it offers one synchronously (process.getBuiltinModule,
// in Node >= 20.16, Bun and Deno), or supplied by the host through useModule/loadCore.

import { ABI } from './abi.generated.js';
import { BufferPool } from './pool.js';
import { ConduitError, ErrorCodes } from '../errors.js';

export type WasmVariant = 'simd' | 'scalar';

export interface CoreExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  abi_scratch(): number;
  abi_slots(): number;
  http_method_table(): number;
  http_init(state: number, maxRequestLine: number, maxHeaderBytes: number, maxHeaders: number,
    maxChunkExtensions: number, maxBody: number): void;
  http_execute(state: number, input: number, len: number): number;
  abi_json_scratch(): number;
  json_parse(input: number, len: number, maxDepth: number): number;
  json_envelope(input: number, len: number, maxDepth: number): number;
  tensor_numbers(input: number, len: number, out: number, cap: number, f32: number, result: number): number;
  [abiGlobal: `ABI_${string}`]: WebAssembly.Global;
}

export interface CoreOptions {
  /** Data bytes per pool slot (multiple of 64). Default 32 KiB. */
  slotSize?: number;
  /** Number of pool slots. Default 64. */
  slotCount?: number;
  /** Force a build; default: SIMD when the runtime validates it, unless CONDUIT_WASM=scalar. */
  variant?: WasmVariant;
  /**
   * A shared memory (SharedArrayBuffer) or a plain one. Default: shared where the runtime
   * has SharedArrayBuffer (and loadCore() did not choose otherwise).
   */
  shared?: boolean;
}

const PAGE = 65536;
/** Bytes reserved below the slots for static data and the scratch areas. */
const RESERVED = PAGE;

const FILES: Record<WasmVariant, string> = { simd: 'conduit.wasm', scalar: 'conduit-scalar.wasm' };
const modules: Partial<Record<WasmVariant, WebAssembly.Module>> = {};
const unshared: Partial<Record<WasmVariant, WebAssembly.Module>> = {};
const bytesCache: Partial<Record<WasmVariant, Uint8Array<ArrayBuffer>>> = {};

/** Where the bundled builds are: build/, next to dist/ and src/. */
export function wasmUrl(variant: WasmVariant): URL {
  return new URL(`../../build/${FILES[variant]}`, import.meta.url);
}

interface SyncFs { readFileSync(path: URL): Uint8Array }
let installedFs: SyncFs | undefined;
/**
 * Gives the loader a synchronous file reader. The Node entry points install node:fs's
 * (src/wasm/node-fs.ts), so that Node 20 before 20.16, which has no
 * process.getBuiltinModule, reads the bundled build too.
 */
export function setSyncFs(fs: SyncFs): void {
  installedFs = fs;
}
/** The installed fs, or the runtime's where it hands one out synchronously without an import. */
function runtimeFs(): SyncFs | undefined {
  if (installedFs !== undefined) return installedFs;
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return typeof proc?.getBuiltinModule === 'function' ? proc.getBuiltinModule('fs') as SyncFs | undefined : undefined;
}

/** The .wasm bytes of a build (given by the host, or read from build/). */
export function wasmBytes(variant: WasmVariant): Uint8Array<ArrayBuffer> {
  let b = bytesCache[variant];
  if (b === undefined) {
    const url = wasmUrl(variant);
    const fs = runtimeFs();
    if (fs === undefined) {
      throw new ConduitError(ErrorCodes.WASM_ABI,
        `cannot read the WASM core ${url.href} synchronously in this runtime: call loadCore() (conduit/core) first`);
    }
    try {
      b = new Uint8Array(fs.readFileSync(url));
    } catch (err) {
      throw new ConduitError(ErrorCodes.WASM_ABI,
        `cannot read the WASM core ${url.pathname}: run \`npm run build\` (${(err as Error).message})`);
    }
    bytesCache[variant] = b;
  }
  return b;
}

let simdOk: boolean | undefined;
/** Whether this runtime can run the SIMD build (it validates the real module). */
export function simdSupported(): boolean {
  if (simdOk === undefined) simdOk = modules.simd !== undefined || WebAssembly.validate(wasmBytes('simd'));
  return simdOk;
}

let chosen: WasmVariant | undefined;
let sharedDefault = typeof SharedArrayBuffer === 'function';

let fromEnv: WasmVariant | undefined;
/**
 * The build used when none is named: the one loadCore() loaded last, else CONDUIT_WASM
 * (scalar or simd), else SIMD where the runtime validates it. The environment is read once
 * (process.env is slow to read, and this is asked on every lane lookup).
 */
export function defaultVariant(): WasmVariant {
  if (chosen !== undefined) return chosen;
  if (fromEnv === undefined) {
    const forced = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.CONDUIT_WASM;
    fromEnv = forced === 'scalar' ? 'scalar' : forced === 'simd' ? 'simd' : simdSupported() ? 'simd' : 'scalar';
  }
  return fromEnv;
}

/**
 * Makes `module` the build that cores of its variant use, with its bytes when the host has
 * them (a plain-memory core needs them); optionally makes it the default build and sets
 * whether cores default to shared memory. For hosts that fetch the .wasm themselves
 * (loadCore does this).
 */
export function useModule(variant: WasmVariant, module: WebAssembly.Module, bytes?: Uint8Array<ArrayBuffer>,
  defaults?: { variant?: boolean; shared?: boolean }): void {
  modules[variant] = module;
  delete unshared[variant];
  if (bytes !== undefined) bytesCache[variant] = bytes;
  else delete bytesCache[variant];
  if (variant === 'simd') simdOk = true;
  if (defaults?.variant === true) chosen = variant;
  if (defaults?.shared !== undefined) sharedDefault = defaults.shared;
}

/** Whether cores are made with shared memory unless told otherwise. */
export function sharedMemoryDefault(): boolean {
  return sharedDefault;
}

export function compileCore(variant: WasmVariant): WebAssembly.Module {
  let m = modules[variant];
  if (m === undefined) {
    m = new WebAssembly.Module(wasmBytes(variant));
    modules[variant] = m;
  }
  return m;
}

/** The build with its memory import made unshared (for runtimes without SharedArrayBuffer). */
function compileUnshared(variant: WasmVariant): WebAssembly.Module {
  let m = unshared[variant];
  if (m === undefined) {
    if (modules[variant] !== undefined && bytesCache[variant] === undefined) {
      throw new ConduitError(ErrorCodes.WASM_ABI,
        'a plain (unshared) memory needs the .wasm bytes, not a compiled WebAssembly.Module: give loadCore() the bytes or a URL');
    }
    m = new WebAssembly.Module(unsharedModule(wasmBytes(variant)));
    unshared[variant] = m;
  }
  return m;
}

/**
 * A copy of a module's bytes whose imported memory is not shared (limits flag 0x03 →
 * 0x01). Nothing in the kernels needs shared memory: they use no atomics and no threads.
 */
export function unsharedModule(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes);
  const bad = (why: string): never => { throw new ConduitError(ErrorCodes.WASM_ABI, `cannot unshare the module's memory: ${why}`); };
  let p = 8;
  const leb = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (p >= out.length) bad('truncated');
      const b = out[p++];
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
      shift += 7;
    }
  };
  const name = (): void => { const n = leb(); p += n; };
  while (p < out.length) {
    const id = out[p++];
    const size = leb();
    const end = p + size;
    if (id !== 2) { p = end; continue; }
    const count = leb();
    for (let i = 0; i < count; i++) {
      name();
      name();
      const kind = out[p++];
      if (kind === 0x00) leb(); // function: type index
      else if (kind === 0x01) { p++; const f = leb(); leb(); if (f & 1) leb(); } // table
      else if (kind === 0x03) p += 2; // global: valtype, mutability (valtypes here are one byte)
      else if (kind === 0x02) {
        const flags = out[p];
        if ((flags & 2) === 0) return out; // already unshared
        out[p] = flags & ~2;
        return out;
      } else bad(`import kind ${kind}`);
    }
    bad('no memory import');
  }
  return bad('no import section');
}

export class WasmCore {
  readonly variant: WasmVariant;
  /** Whether the memory is shared (a SharedArrayBuffer). */
  readonly shared: boolean;
  readonly memory: WebAssembly.Memory;
  readonly exports: CoreExports;
  /** Byte view over the whole memory (never stale: the memory never grows). */
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly view: DataView;
  /** Address of the HttpResult scratch area. */
  readonly scratch: number;
  readonly pool: BufferPool;
  /** Method names by id (index 0 unused). */
  readonly methods: readonly string[];

  constructor(options: CoreOptions = {}) {
    const variant = options.variant ?? defaultVariant();
    const shared = options.shared ?? sharedDefault;
    const slotSize = options.slotSize ?? 32 * 1024;
    const slotCount = options.slotCount ?? 64;
    if (!Number.isInteger(slotSize) || slotSize < 1024 || slotSize % 64 !== 0 || slotSize > 64 * 1024 * 1024) {
      throw new ConduitError(ErrorCodes.INVALID_OPTION, `slotSize must be a multiple of 64 between 1 KiB and 64 MiB, got ${slotSize}`);
    }
    if (!Number.isInteger(slotCount) || slotCount < 1 || slotCount > 1 << 20) {
      throw new ConduitError(ErrorCodes.INVALID_OPTION, `slotCount must be an integer between 1 and 2^20, got ${slotCount}`);
    }
    const stride = ABI.SLOT_HEADER + slotSize + ABI.SLOT_PADDING;
    const pages = Math.ceil((RESERVED + stride * slotCount) / PAGE);
    if (pages > 65536) throw new ConduitError(ErrorCodes.INVALID_OPTION, 'pool larger than 4 GiB');
    this.variant = variant;
    this.shared = shared;
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared });
    const module = shared ? compileCore(variant) : compileUnshared(variant);
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory, abort: onAbort } });
    this.exports = instance.exports as unknown as CoreExports;
    this.exports._initialize();
    checkAbi(this.exports, variant);
    const buffer = this.memory.buffer;
    this.u8 = new Uint8Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.view = new DataView(buffer);
    this.scratch = this.exports.abi_scratch();
    // Slots sit at the very end of memory so the last slot's padding ends at the last
    // byte: an over-read past the padding traps (see assembly/abi.ts).
    const slotsBase = pages * PAGE - stride * slotCount;
    if (slotsBase < this.exports.abi_slots()) {
      throw new ConduitError(ErrorCodes.WASM_ABI, 'static data and scratch outgrew the reserved area');
    }
    this.pool = new BufferPool(slotsBase, slotSize, slotCount);
    this.methods = readMethodTable(this.u8, this.exports.http_method_table(), ABI.METHOD_COUNT);
  }
}

function onAbort(): never {
  throw new ConduitError(ErrorCodes.WASM_ABI, 'WASM core aborted');
}

/** Throws WASM_ABI when a module's ABI_* globals differ from the TypeScript mirror (or it is not the named build). */
export function checkAbi(exports: CoreExports, variant: WasmVariant): void {
  for (const [key, value] of Object.entries(ABI)) {
    const g = exports[`ABI_${key}`];
    if (g === undefined || g.value !== value) {
      throw new ConduitError(ErrorCodes.WASM_ABI,
        `WASM core (${variant}) ABI_${key} = ${g?.value} but the TypeScript mirror says ${value}: rebuild with \`npm run build\``);
    }
  }
  const simd = exports.ABI_SIMD.value === 1;
  if (simd !== (variant === 'simd')) throw new ConduitError(ErrorCodes.WASM_ABI, `${FILES[variant]} is not the ${variant} build`);
}

function readMethodTable(u8: Uint8Array, ptr: number, count: number): string[] {
  const names = [''];
  let p = ptr;
  for (let i = 0; i < count; i++) {
    let s = '';
    while (u8[p] !== 0) s += String.fromCharCode(u8[p++]);
    names.push(s);
    p++;
  }
  return names;
}
