// Status codes of the SSE framer, returned negated by the sse_* exports.
//
// APPEND-ONLY: never renumber or reuse. The TypeScript mirror (SseStatus in
// src/wasm/abi.generated.ts) is generated from this file by src/wasm/gen-abi.mjs; the
// module exports each code as an SSE_ERR_* global, and SseFramer refuses a module whose
// globals differ from the mirror (test/sse/framer.test.ts checks it too).
//
// These are apart from the HTTP Status codes of assembly/status.ts: the framer's errors
// are the host's programming errors (a bad event), not answers to a peer.

export namespace SseStatus {
  /** The output area is too small for the frame (nothing useful was written). */
  export const OUTPUT_TOO_SMALL: i32 = 1;
  /** `id` contains CR or LF: it would end the field line early. */
  export const ID_LINE_BREAK: i32 = 2;
  /** `id` contains NUL: clients ignore such an id (WHATWG HTML §9.2.6). */
  export const ID_NUL: i32 = 3;
  /** `event` contains CR or LF. */
  export const EVENT_LINE_BREAK: i32 = 4;
  /** `retry` is not an integer in [0, 2^53 - 1] (it is sent as ASCII digits only). */
  export const RETRY_INVALID: i32 = 5;
}
