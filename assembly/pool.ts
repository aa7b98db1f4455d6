// Buffer-pool slot arithmetic. The pool itself (lease/release, generations) is kept by
// the host (src/wasm/pool.ts); the module only needs to agree on where slots are.
//
//   slot i at slotsBase + i * stride, stride = SLOT_HEADER + slotSize + SLOT_PADDING,
//   slotSize a multiple of 64 so every slot's data starts 64-byte aligned.

import { SCRATCH_SIZE } from "./abi";
import { JSON_SCRATCH_SIZE } from "./jsonrpc/layout";

/** First byte after static data, 64-byte aligned: the scratch area starts here. */
export function scratchBase(): usize {
  return (__heap_base + 63) & ~<usize>63;
}

/** The JSON-RPC result area: after the HTTP one, 64-byte aligned. */
export function jsonScratchBase(): usize {
  return (scratchBase() + <usize>SCRATCH_SIZE + 63) & ~<usize>63;
}

/** First slot: right after the scratch areas, 64-byte aligned. */
export function slotsBase(): usize {
  return (jsonScratchBase() + <usize>JSON_SCRATCH_SIZE + 63) & ~<usize>63;
}
