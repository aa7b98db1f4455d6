// Layout of the JSON-RPC result area (per instance, after the HTTP scratch area).
//
//   0 status (JsonStatus)   4 errorOffset   8 batch (0/1)   12 count (messages)
//  16 depth limit in use   20 reserved ... 64
//  64 records: MAX_MESSAGES × JsonMessage (one per message / batch member)
//     then the depth stack (MAX_DEPTH bytes)
//
// A JsonMessage describes one top-level object (or batch member) by spans into the
// input: where each envelope member's value starts and ends, and what kind it is.

export const MAX_MESSAGES: u32 = 256;
export const MAX_DEPTH: u32 = 1024;

@unmanaged
export class JsonHeader {
  status: u32;
  errorOffset: u32;
  batch: u32;
  count: u32;
  depthLimit: u32;
}

// One record, 112 bytes. Spans are [start, end) offsets into the input; a member that is
// absent has start == end == 0 and its kind is ValueKind.NONE.
@unmanaged
export class JsonMessage {
  /** Span of the whole member value (the object, or whatever the batch member is). */
  start: u32;
  end: u32;
  /** MessageBits. */
  bits: u32;
  /** Invalid: an InvalidReason (0 when the message is a valid envelope). */
  invalid: u32;
  /** ValueKind of the member (OBJECT for a usable message). */
  kind: u32;
  idStart: u32;
  idEnd: u32;
  idKind: u32;
  methodStart: u32;
  methodEnd: u32;
  methodKind: u32;
  paramsStart: u32;
  paramsEnd: u32;
  paramsKind: u32;
  resultStart: u32;
  resultEnd: u32;
  resultKind: u32;
  errorStart: u32;
  errorEnd: u32;
  errorKind: u32;
  jsonrpcStart: u32;
  jsonrpcEnd: u32;
  jsonrpcKind: u32;
  reserved: u32;
  /** The id's magnitude when MessageBits.ID_INT is set. */
  idValue: u32;
  /** The method's slot in the method-name cache when MessageBits.METHOD_CACHED is set... */
  methodSlot: u32;
  /**
   * ...and the number of the fill that put the name there (counted per core from 1): a
   * host that keeps the decoded name per slot with this number knows when it is stale.
   */
  methodFill: u32;
}

export const RECORDS_OFFSET: u32 = 64;
export const RECORD_SIZE: u32 = 112;
export const DEPTH_STACK_OFFSET: u32 = RECORDS_OFFSET + MAX_MESSAGES * RECORD_SIZE;
export const JSON_SCRATCH_SIZE: u32 = DEPTH_STACK_OFFSET + MAX_DEPTH;

/** Kinds of JSON values (for envelope members). */
export namespace ValueKind {
  export const NONE: u32 = 0;
  export const STRING: u32 = 1;
  export const NUMBER: u32 = 2;
  export const NULL: u32 = 3;
  export const TRUE: u32 = 4;
  export const FALSE: u32 = 5;
  export const OBJECT: u32 = 6;
  export const ARRAY: u32 = 7;
}

/** MessageBits: facts about a message found while walking it. */
export namespace MessageBits {
  /** A string (the method name, a string id) contains backslash escapes. */
  export const METHOD_ESCAPED: u32 = 1;
  export const ID_ESCAPED: u32 = 2;
  /** A key at the envelope level had escapes: the host decides the envelope itself. */
  export const KEY_ESCAPED: u32 = 4;
  /** (json_envelope) The id is an integer of at most 9 digits: idValue is its magnitude. */
  export const ID_INT: u32 = 8;
  /** ... and it is negative ("-0" included). */
  export const ID_NEG: u32 = 16;
  /**
   * (json_envelope) The method (a string without escapes, at most 48 bytes) is in slot
   * methodSlot of the core's method-name cache, put there by fill number methodFill.
   */
  export const METHOD_CACHED: u32 = 32;
}

/** Why a message is not a valid JSON-RPC 2.0 Request / Response object. */
export namespace InvalidReason {
  export const NOT_OBJECT: u32 = 1;
  export const NO_JSONRPC: u32 = 2;
  export const BAD_JSONRPC: u32 = 3;
  export const BAD_METHOD: u32 = 4;
  export const BAD_ID: u32 = 5;
  export const BAD_PARAMS: u32 = 6;
  export const BOTH_RESULT_AND_ERROR: u32 = 7;
  export const METHOD_AND_RESULT: u32 = 8;
  export const RESPONSE_WITHOUT_ID: u32 = 9;
  export const NO_METHOD_OR_RESULT: u32 = 10;
  export const BAD_ERROR: u32 = 11;
  export const DUPLICATE_MEMBER: u32 = 12;
}

/** Status of a parse: OK, or why the input is unusable as a whole. */
export namespace JsonStatus {
  export const OK: u32 = 0;
  /** -32700: not valid JSON (errorOffset says where). */
  export const INVALID_JSON: u32 = 1;
  /** -32700: nested deeper than the limit. */
  export const TOO_DEEP: u32 = 2;
  /** -32600: the top-level value is neither an object nor an array. */
  export const NOT_OBJECT_OR_ARRAY: u32 = 3;
  /** -32600: an empty batch. */
  export const EMPTY_BATCH: u32 = 4;
  /** -32600: more batch members than MAX_MESSAGES. */
  export const BATCH_TOO_LARGE: u32 = 5;
  /** -32700: invalid UTF-8. */
  export const INVALID_UTF8: u32 = 6;
  /** -32700: empty input (only whitespace). */
  export const EMPTY: u32 = 7;
}
