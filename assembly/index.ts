// The export list of the WASM core: this file *is* the ABI. Every export takes plain
// numbers (offsets into the one imported memory, lengths) and writes its results into
// the fixed layouts of abi.ts. Nothing here allocates.

import {
  ParserState, HttpResult, NumbersResult, SLOT_HEADER, SLOT_PADDING, MAX_FIELDS, MAX_BODY_SPANS,
  FIELDS_OFFSET, FIELD_SIZE, BODY_SPANS_OFFSET, BODY_SPAN_SIZE, SCRATCH_SIZE,
} from "./abi";
import { scratchBase, slotsBase } from "./pool";
import * as http from "./http/parser";
import { METHOD_TABLE, METHOD_COUNT } from "./http/methods";
import { scanNumbers } from "./tensor/numbers";

http.setScratch(scratchBase());

// ── layout, exported as globals so the host can generate and check its mirror ──────
export const ABI_VERSION: u32 = 1;
export const ABI_SIMD: u32 = ASC_FEATURE_SIMD ? 1 : 0;
export const ABI_SLOT_HEADER: u32 = SLOT_HEADER;
export const ABI_SLOT_PADDING: u32 = SLOT_PADDING;
export const ABI_MAX_FIELDS: u32 = MAX_FIELDS;
export const ABI_MAX_BODY_SPANS: u32 = MAX_BODY_SPANS;
export const ABI_FIELDS_OFFSET: u32 = FIELDS_OFFSET;
export const ABI_FIELD_SIZE: u32 = FIELD_SIZE;
export const ABI_BODY_SPANS_OFFSET: u32 = BODY_SPANS_OFFSET;
export const ABI_BODY_SPAN_SIZE: u32 = BODY_SPAN_SIZE;
export const ABI_SCRATCH_SIZE: u32 = SCRATCH_SIZE;
export const ABI_STATE_SIZE: u32 = offsetof<ParserState>();
export const ABI_STATE_PHASE: u32 = offsetof<ParserState>("phase");
export const ABI_STATE_FLAGS: u32 = offsetof<ParserState>("flags");
export const ABI_STATE_REMAINING: u32 = offsetof<ParserState>("remaining");
export const ABI_STATE_BODY_LEN: u32 = offsetof<ParserState>("bodyLen");
export const ABI_STATE_STATUS: u32 = offsetof<ParserState>("status");
export const ABI_STATE_MESSAGES: u32 = offsetof<ParserState>("messages");
export const ABI_STATE_ERROR_OFFSET: u32 = offsetof<ParserState>("errorOffset");
export const ABI_RESULT_SIZE: u32 = offsetof<HttpResult>();
export const ABI_RESULT_EVENTS: u32 = offsetof<HttpResult>("events");
export const ABI_RESULT_FLAGS: u32 = offsetof<HttpResult>("flags");
export const ABI_RESULT_METHOD: u32 = offsetof<HttpResult>("method");
export const ABI_RESULT_VERSION_MINOR: u32 = offsetof<HttpResult>("versionMinor");
export const ABI_RESULT_METHOD_OFF: u32 = offsetof<HttpResult>("methodOff");
export const ABI_RESULT_METHOD_LEN: u32 = offsetof<HttpResult>("methodLen");
export const ABI_RESULT_TARGET_OFF: u32 = offsetof<HttpResult>("targetOff");
export const ABI_RESULT_TARGET_LEN: u32 = offsetof<HttpResult>("targetLen");
export const ABI_RESULT_HEAD_LEN: u32 = offsetof<HttpResult>("headLen");
export const ABI_RESULT_FIELD_COUNT: u32 = offsetof<HttpResult>("fieldCount");
export const ABI_RESULT_BODY_COUNT: u32 = offsetof<HttpResult>("bodyCount");
export const ABI_RESULT_ERROR_OFFSET: u32 = offsetof<HttpResult>("errorOffset");
export const ABI_RESULT_CONTENT_LENGTH: u32 = offsetof<HttpResult>("contentLength");
export const ABI_RESULT_HOST_IDX: u32 = offsetof<HttpResult>("hostIdx");
export const ABI_RESULT_CONTENT_LENGTH_IDX: u32 = offsetof<HttpResult>("contentLengthIdx");
export const ABI_RESULT_TRANSFER_ENCODING_IDX: u32 = offsetof<HttpResult>("transferEncodingIdx");
export const ABI_RESULT_CONNECTION_IDX: u32 = offsetof<HttpResult>("connectionIdx");
export const ABI_RESULT_EXPECT_IDX: u32 = offsetof<HttpResult>("expectIdx");
export const ABI_RESULT_UPGRADE_IDX: u32 = offsetof<HttpResult>("upgradeIdx");
export const ABI_RESULT_CONTENT_TYPE_IDX: u32 = offsetof<HttpResult>("contentTypeIdx");
export const ABI_RESULT_STATUS: u32 = offsetof<HttpResult>("status");
export const ABI_METHOD_COUNT: u32 = METHOD_COUNT;
export const ABI_NUMBERS_DEPTH: u32 = offsetof<NumbersResult>("depth");
export const ABI_NUMBERS_COUNT: u32 = offsetof<NumbersResult>("count");
export const ABI_NUMBERS_KINDS: u32 = offsetof<NumbersResult>("kinds");
export const ABI_NUMBERS_POS: u32 = offsetof<NumbersResult>("pos");
export const ABI_NUMBERS_END: u32 = offsetof<NumbersResult>("end");
export const ABI_NUMBERS_EXPECT: u32 = offsetof<NumbersResult>("expect");

/** Address of the HttpResult scratch area. */
export function abi_scratch(): usize {
  return scratchBase();
}

/** Address of the first pool slot. */
export function abi_slots(): usize {
  return slotsBase();
}

/** Address of the NUL-separated method-name table (ids are 1-based positions). */
export function http_method_table(): usize {
  return METHOD_TABLE;
}

/** Resets the parser state at `state` and sets its limits (maxBody as a double, ≤ 2^53-1). */
export function http_init(
  state: usize, maxRequestLine: u32, maxHeaderBytes: u32, maxHeaders: u32,
  maxChunkExtensions: u32, maxBody: f64,
): void {
  http.init(state, maxRequestLine, maxHeaderBytes, maxHeaders, maxChunkExtensions, maxBody);
}

/** Parses input[0..len) for the parser at `state`; see http/parser.ts for the contract. */
export function http_execute(state: usize, input: usize, len: u32): i32 {
  return http.execute(state, input, len);
}

/**
 * Tensor data: the leaves of the JSON array at input[0..len) (validated JSON; or resuming
 * inside it) into f32 (f32 != 0) or f64 slots at out, at most cap; results at r (a
 * NumbersResult). Returns a NumbersStatus; see tensor/numbers.ts.
 */
export function tensor_numbers(input: usize, len: u32, out: usize, cap: u32, f32: u32, r: usize): u32 {
  return scanNumbers(input, input + <usize>len, out, cap, f32, r);
}

// ── the SSE and JSON-RPC kernels, each listing its own exports ─────────────────────
export * from "./sse/exports";
export * from "./jsonrpc/exports";
