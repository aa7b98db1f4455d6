// SSE error codes, and the TypeScript mirror of assembly/sse/status.ts.
//
// The codes follow src/errors.ts (stable CONDUIT_ERR_* strings on ConduitError); they
// live here so the SSE module owns them. SseStatus numbers are append-only, like the
// WASM side; SseFramer checks them against the module's SSE_ERR_* globals.

import { ConduitError } from '../errors.js';

/** Negated return values of the sse_* WASM exports. */
export const SseStatus = {
  OUTPUT_TOO_SMALL: 1,
  ID_LINE_BREAK: 2,
  ID_NUL: 3,
  EVENT_LINE_BREAK: 4,
  RETRY_INVALID: 5,
} as const;

export const SseErrorCodes = {
  /** `id` contains CR or LF. */
  ID_LINE_BREAK: 'CONDUIT_ERR_SSE_ID_LINE_BREAK',
  /** `id` contains NUL (clients would ignore it). */
  ID_NUL: 'CONDUIT_ERR_SSE_ID_NUL',
  /** `event` contains CR or LF. */
  EVENT_LINE_BREAK: 'CONDUIT_ERR_SSE_EVENT_LINE_BREAK',
  /** `retry` is not an integer in [0, 2^53 - 1]. */
  RETRY_INVALID: 'CONDUIT_ERR_SSE_RETRY_INVALID',
  /** `id` and `event` together do not fit the framer's field area. */
  FIELD_TOO_LONG: 'CONDUIT_ERR_SSE_FIELD_TOO_LONG',
  /** `data` is not a string or Uint8Array, or `id` / `event` is not a string. */
  INVALID_EVENT: 'CONDUIT_ERR_SSE_INVALID_EVENT',
} as const;

const BY_STATUS: Record<number, [code: string, message: string]> = {
  [SseStatus.ID_LINE_BREAK]: [SseErrorCodes.ID_LINE_BREAK, 'SSE event id contains CR or LF'],
  [SseStatus.ID_NUL]: [SseErrorCodes.ID_NUL, 'SSE event id contains NUL, which clients ignore'],
  [SseStatus.EVENT_LINE_BREAK]: [SseErrorCodes.EVENT_LINE_BREAK, 'SSE event type contains CR or LF'],
  [SseStatus.RETRY_INVALID]: [SseErrorCodes.RETRY_INVALID, 'SSE retry must be an integer between 0 and 2^53 - 1'],
};

/** The ConduitError for a negated SseStatus the kernel returned (never OUTPUT_TOO_SMALL). */
export function sseError(status: number): ConduitError {
  const [code, message] = BY_STATUS[status] ?? ['CONDUIT_ERR_WASM_ABI', `unexpected SSE kernel status ${status}`];
  return new ConduitError(code, message);
}
