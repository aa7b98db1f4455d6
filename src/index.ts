// Conduit's public API.

export { HttpParser, RequestHead, DEFAULT_LIMITS } from './http/parser.js';
export type { HttpParserOptions, HttpLimits, HeaderList } from './http/parser.js';
export { parseHttpRequest } from './http/parse-request.js';
export type { ParsedRequest } from './http/parse-request.js';
export { ConduitError, HttpParseError, HttpError, ErrorCodes } from './errors.js';
export { WasmCore, simdSupported, defaultVariant, wasmBytes } from './wasm/loader.js';
export type { CoreOptions, WasmVariant, CoreExports } from './wasm/loader.js';
export { BufferPool, Slot } from './wasm/pool.js';
export { ABI, Status, STATUS_INFO, Events, MessageFlags } from './wasm/abi.generated.js';
export { parseJsonRpc, validateJson, Envelope, JsonRpcErrorCode } from './jsonrpc/parse.js';
export type { JsonRpcId, JsonRpcOptions, JsonRpcParseResult, JsonRpcErrorObject, EnvelopeKind } from './jsonrpc/parse.js';
export { JsonRpcResultWriter } from './jsonrpc/encode.js';
export { SseFramer } from './sse/framer.js';
export type { SseEvent, SseFramerOptions } from './sse/framer.js';
export { SseDecoder } from './sse/decoder.js';
export type { SseMessage, SseDecoderOptions } from './sse/decoder.js';
export { SseErrorCodes } from './errors.js';
export { SseStatus } from './wasm/abi.generated.js';
export { Router } from './http/router.js';
export type { RouteParams, RouteMatch, RouteResult } from './http/router.js';
export { createServer, App } from './http/app.js';
export type {
  ServerOptions, ListenOptions, Request, Response, Handler, SseStream, BodyStream, Hooks, HookName, RouteOptions,
} from './http/api.js';
export { cors } from './http/cors.js';
export type { CorsOptions } from './http/cors.js';
