// JSON-RPC kernel exports. Re-exported by assembly/index.ts.

import { JsonHeader, JsonMessage, JSON_SCRATCH_SIZE, MAX_MESSAGES, MAX_DEPTH, RECORDS_OFFSET, RECORD_SIZE } from "./layout";
import { parse, setJsonScratch, METHOD_CACHE_SLOTS } from "./tokenizer";
import { jsonScratchBase } from "../pool";

setJsonScratch(jsonScratchBase());

export const ABI_JSON_SCRATCH_SIZE: u32 = JSON_SCRATCH_SIZE;
export const ABI_JSON_MAX_MESSAGES: u32 = MAX_MESSAGES;
export const ABI_JSON_MAX_DEPTH: u32 = MAX_DEPTH;
export const ABI_JSON_RECORDS_OFFSET: u32 = RECORDS_OFFSET;
export const ABI_JSON_RECORD_SIZE: u32 = RECORD_SIZE;
export const ABI_JSON_STATUS: u32 = offsetof<JsonHeader>("status");
export const ABI_JSON_ERROR_OFFSET: u32 = offsetof<JsonHeader>("errorOffset");
export const ABI_JSON_BATCH: u32 = offsetof<JsonHeader>("batch");
export const ABI_JSON_COUNT: u32 = offsetof<JsonHeader>("count");
export const ABI_JSON_REC_START: u32 = offsetof<JsonMessage>("start");
export const ABI_JSON_REC_END: u32 = offsetof<JsonMessage>("end");
export const ABI_JSON_REC_BITS: u32 = offsetof<JsonMessage>("bits");
export const ABI_JSON_REC_INVALID: u32 = offsetof<JsonMessage>("invalid");
export const ABI_JSON_REC_KIND: u32 = offsetof<JsonMessage>("kind");
export const ABI_JSON_REC_ID: u32 = offsetof<JsonMessage>("idStart");
export const ABI_JSON_REC_METHOD: u32 = offsetof<JsonMessage>("methodStart");
export const ABI_JSON_REC_PARAMS: u32 = offsetof<JsonMessage>("paramsStart");
export const ABI_JSON_REC_RESULT: u32 = offsetof<JsonMessage>("resultStart");
export const ABI_JSON_REC_ERROR: u32 = offsetof<JsonMessage>("errorStart");
export const ABI_JSON_REC_JSONRPC: u32 = offsetof<JsonMessage>("jsonrpcStart");
export const ABI_JSON_REC_MSG_KIND: u32 = offsetof<JsonMessage>("reserved");
export const ABI_JSON_REC_ID_VALUE: u32 = offsetof<JsonMessage>("idValue");
export const ABI_JSON_REC_METHOD_SLOT: u32 = offsetof<JsonMessage>("methodSlot");
export const ABI_JSON_REC_METHOD_FILL: u32 = offsetof<JsonMessage>("methodFill");
export const ABI_JSON_METHOD_CACHE_SLOTS: u32 = METHOD_CACHE_SLOTS;

/** Address of the JSON result area. */
export function abi_json_scratch(): usize {
  return jsonScratchBase();
}

/**
 * Validates input[0..len) as JSON (RFC 8259) and extracts its JSON-RPC 2.0 envelope(s).
 * Returns a JsonStatus (0 = OK); details in the JSON result area. Keep 64 readable
 * bytes after the input.
 */
export function json_parse(input: usize, len: u32, maxDepth: u32): u32 {
  return parse(input, len, maxDepth, false);
}

/**
 * json_parse, plus what a host needs to build envelopes without reading the id and
 * method bytes itself: small integer ids as numbers (MessageBits.ID_INT, idValue) and
 * short method names as slots of a per-core cache (MessageBits.METHOD_CACHED,
 * methodSlot, methodFill): a host that keeps the decoded name per slot with its fill
 * number decodes a name only when the record's fill number differs from its own.
 */
export function json_envelope(input: usize, len: u32, maxDepth: u32): u32 {
  return parse(input, len, maxDepth, true);
}
