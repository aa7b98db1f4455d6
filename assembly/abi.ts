// The ABI between the WASM core and its hosts (TypeScript, and native code later).
//
// Everything here is a fixed layout in linear memory. The host owns the memory; the
// module never allocates. Offsets are taken with offsetof<T>() and exported as ABI_*
// globals (see index.ts), from which src/wasm/abi.generated.ts is generated at build
// time. test/wasm/abi.test.ts fails when the generated mirror and the module drift.
//
// Memory map (one WebAssembly.Memory per instance, initial == maximum, never grows):
//
//   0 ─────────── static data (lookup tables), up to __heap_base
//   scratch ───── HttpResult, written by every http_execute call (SCRATCH_SIZE bytes)
//   slots ─────── pool of fixed-size slots up to the very end of memory:
//
//   ┌──────────────────┬──────────────────────────────┬──────────────┐
//   │ ParserState 64 B │ data: slotSize bytes          │ padding 64 B │  × slotCount
//   └──────────────────┴──────────────────────────────┴──────────────┘
//
// The padding lets SIMD kernels load 16 bytes at any position < end without a bounds
// check (simdjson's SIMDJSON_PADDING). The last slot's padding ends exactly at the end
// of memory, so an over-read past the padding traps instead of reading a neighbour —
// the WASM equivalent of picohttpparser's PROT_NONE guard page.

/** Bytes of readable padding after every slot's data. */
export const SLOT_PADDING: u32 = 64;
/** Bytes reserved at the start of every slot for its ParserState. */
export const SLOT_HEADER: u32 = 64;
/** Capacity of the field table in HttpResult (the header-count limit may not exceed it). */
export const MAX_FIELDS: u32 = 256;
/** Capacity of the body-span table in HttpResult; a call stops early when it fills. */
export const MAX_BODY_SPANS: u32 = 64;

// Per-connection parser state, 64 bytes at the head of each slot. Persisted between
// calls; the host writes the limits once (http_init) and otherwise leaves it alone.
//
//   0      4      8             16            24     28     32
//   ├phase─┼flags─┼─remaining───┼─bodyLen─────┼extB──┼status┤
//   32     36     40     44     48            56     60     64
//   ├maxRL─┼maxHB─┼maxHC─┼maxCE─┼─maxBody─────┼msgs──┼errOff┤
@unmanaged
export class ParserState {
  /** Phase: where the next byte belongs (see Phase in http/parser.ts). */
  phase: u32;
  /** Flags of the message in progress (MessageFlags). */
  flags: u32;
  /** Content-Length bytes left, or bytes left in the current chunk. */
  remaining: u64;
  /** Body bytes seen so far in this message (checked against maxBody). */
  bodyLen: u64;
  /** Chunk-extension bytes seen so far in this message. */
  extBytes: u32;
  /** Sticky Status once the parser failed. */
  status: u32;
  maxRequestLine: u32;
  maxHeaderBytes: u32;
  maxHeaders: u32;
  maxChunkExtensions: u32;
  maxBody: u64;
  /** Messages completed on this connection. */
  messages: u32;
  /** Byte offset (relative to the input of the failing call) of the sticky error. */
  errorOffset: u32;
}

// Result of one http_execute call, in the per-instance scratch area. Offsets of spans
// are relative to the start of the input given to that call.
//
//   0 events  4 flags  8 method  12 versionMinor
//  16 methodOff 20 methodLen 24 targetOff 28 targetLen
//  32 headLen 36 fieldCount 40 bodyCount 44 errorOffset
//  48 contentLength (u64)
//  56 hostIdx 60 contentLengthIdx 64 transferEncodingIdx 68 connectionIdx
//  72 expectIdx 76 upgradeIdx 80 contentTypeIdx 84 status
//  88 … 128 reserved
// 128 fields:  MAX_FIELDS × { nameOff u32, nameLen u32, valueOff u32, valueLen u32 }
//     bodies:  MAX_BODY_SPANS × { off u32, len u32 }
@unmanaged
export class HttpResult {
  /** What this call produced (Events bits). */
  events: u32;
  /** MessageFlags of the current message. */
  flags: u32;
  /** Method id (Method enum in http/methods.ts). */
  method: u32;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  versionMinor: u32;
  methodOff: u32;
  methodLen: u32;
  targetOff: u32;
  targetLen: u32;
  /** Offset just past the blank line that ends the head (HEAD event only). */
  headLen: u32;
  /** Entries in the field table: headers with HEAD, trailers with TRAILERS. */
  fieldCount: u32;
  /** Entries in the body-span table. */
  bodyCount: u32;
  /** Where the error was found, when the call returns a negative Status. */
  errorOffset: u32;
  /** Declared Content-Length (valid when MessageFlags.CONTENT_LENGTH). */
  contentLength: u64;
  /** Index in the field table of the first such header, or -1. */
  hostIdx: i32;
  contentLengthIdx: i32;
  transferEncodingIdx: i32;
  connectionIdx: i32;
  expectIdx: i32;
  upgradeIdx: i32;
  contentTypeIdx: i32;
  /** Status of the call (0, or the failure). */
  status: u32;
}

// Result of one tensor_numbers call (tensor/numbers.ts), where the host says: a slot's
// 64-byte header when the slot holds JSON rather than a connection.
//
//   0 depth  4 count  8 kinds  12 pos  16 end  20 expect
@unmanaged
export class NumbersResult {
  /** Array nesting at the end of the call (the host passes it back to resume). */
  depth: u32;
  /** Values written so far (in and out). */
  count: u32;
  /** NumbersKinds bits of the leaves seen. */
  kinds: u32;
  /** Address of the leaf the call stopped at (SLOW, NOT_NUMBER, TOO_MANY). */
  pos: u32;
  /** Address just past the array (DONE) or the slow number (SLOW): where to resume. */
  end: u32;
  /** What may come next (in and out: the grammar's state between calls). */
  expect: u32;
}

export const FIELDS_OFFSET: u32 = 128;
export const FIELD_SIZE: u32 = 16;
export const BODY_SPANS_OFFSET: u32 = FIELDS_OFFSET + MAX_FIELDS * FIELD_SIZE;
export const BODY_SPAN_SIZE: u32 = 8;
export const SCRATCH_SIZE: u32 = BODY_SPANS_OFFSET + MAX_BODY_SPANS * BODY_SPAN_SIZE;

/** Events: what a call produced. */
export namespace Events {
  /** A request head completed: the request-line/field spans in the result are valid. */
  export const HEAD: u32 = 1;
  /** Body spans were produced (bodyCount > 0). */
  export const BODY: u32 = 2;
  /** The message completed. */
  export const MESSAGE_COMPLETE: u32 = 4;
  /** A chunked trailer section completed: the field table holds the trailers. */
  export const TRAILERS: u32 = 8;
}

/** MessageFlags: facts about the current message, decided when its head completes. */
export namespace MessageFlags {
  export const KEEP_ALIVE: u32 = 1;
  export const CHUNKED: u32 = 2;
  export const CONTENT_LENGTH: u32 = 4;
  /** `Connection: upgrade` together with an Upgrade field: the protocol switches after this message. */
  export const UPGRADE: u32 = 8;
  /** CONNECT: the connection becomes a tunnel after the head. */
  export const CONNECT: u32 = 16;
  /** `Expect: 100-continue` on an HTTP/1.1 request. */
  export const EXPECT_CONTINUE: u32 = 32;
  /** Connection: close was present. */
  export const CONNECTION_CLOSE: u32 = 64;
  /** Connection: keep-alive was present. */
  export const CONNECTION_KEEP_ALIVE: u32 = 128;
  /** The message has a body (chunked, or Content-Length > 0). */
  export const HAS_BODY: u32 = 256;
  /** An Expect field with something other than 100-continue. */
  export const EXPECT_OTHER: u32 = 512;
  /** asterisk-form request-target (`OPTIONS *`). */
  export const TARGET_ASTERISK: u32 = 1024;
  /** absolute-form request-target. */
  export const TARGET_ABSOLUTE: u32 = 2048;
  /** authority-form request-target (CONNECT). */
  export const TARGET_AUTHORITY: u32 = 4096;
}
