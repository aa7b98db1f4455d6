// Conduit's public API.

import './wasm/node-fs.js'; // (first: node:fs for the .wasm on every Node 20)
export { HttpParser, RequestHead, DEFAULT_LIMITS } from './http/parser.js';
export type { HttpParserOptions, HttpLimits, HeaderList } from './http/parser.js';
export { parseHttpRequest, parseHttpHead } from './http/parse-request.js';
export type { ParsedRequest, HeadSpans } from './http/parse-request.js';
export { ConduitError, HttpParseError, HttpError, ErrorCodes } from './errors.js';
export { WasmCore, simdSupported, defaultVariant, wasmBytes, useModule } from './wasm/loader.js';
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
export type { ModelDeclaration } from './http/app.js';
export type {
  ServerOptions, ListenOptions, Request, Response, Handler, SseStream, BodyStream, Hooks, HookName, RouteOptions,
} from './http/api.js';
export { cors } from './http/cors.js';
export type { CorsOptions } from './http/cors.js';
export { createMcpServer, McpServer, SUPPORTED_PROTOCOL_VERSIONS, LATEST_PROTOCOL_VERSION } from './mcp/server.js';
export type {
  McpServerOptions, RequestContext, ToolDefinition, ToolHandler, ToolResult, ResourceMeta, ResourceReader, TemplateReader,
  TemplateOptions, Completer, PromptDefinition, PromptArgument, PromptGetter,
} from './mcp/server.js';
export { McpError, McpErrorCode, ProtocolSession, LOG_LEVELS } from './mcp/protocol.js';
export type { LogLevel, Outbound, OutgoingMessage, RequestId, Session, SessionFactory } from './mcp/protocol.js';
export { serveMcp } from './mcp/serve.js';
export type { ServeMcpOptions, McpEndpoints, ProtectedResourceMetadata } from './mcp/serve.js';
export { StreamableHttp, HttpSession, serveStreamableHttp } from './mcp/transports/streamable-http.js';
export type { StreamableHttpOptions } from './mcp/transports/streamable-http.js';
export { LegacySse, serveLegacySse } from './mcp/transports/legacy-sse.js';
export type { LegacySseOptions } from './mcp/transports/legacy-sse.js';
export { serveStdio } from './mcp/transports/stdio.js';
export type { StdioOptions, StdioServer } from './mcp/transports/stdio.js';
export { McpAuthError } from './mcp/transports/http-common.js';
export type { HttpGuardOptions } from './mcp/transports/http-common.js';
export { bearerAuth } from './mcp/transports/auth.js';
export type { BearerAuthOptions } from './mcp/transports/auth.js';
export { MemorySessionStore } from './mcp/stores/sessions.js';
export type { SessionStore, StoredSession, MemorySessionStoreOptions } from './mcp/stores/sessions.js';
export { MemoryEventStore } from './mcp/stores/events.js';
export type { EventStore, StoredEvent, MemoryEventStoreOptions } from './mcp/stores/events.js';
export { MemoryNotificationBus } from './mcp/stores/notifications.js';
export type { NotificationBus, BusMessage } from './mcp/stores/notifications.js';
export { serveSdkServer } from './mcp/sdk-adapter.js';
export type { SdkServerLike, SdkTransport } from './mcp/sdk-adapter.js';
export { OnnxModel, TYPED_ARRAYS, typedArrayOf } from './ml/model.js';
export type { Device, ModelOptions, TensorInfo, TensorType, TensorValue, TypedData } from './ml/model.js';
export { DynamicBatcher } from './ml/batcher.js';
export type { BatcherOptions, BatcherStats, CancelToken, RunBatch } from './ml/batcher.js';
export { ModelRegistry } from './ml/registry.js';
export type { ModelSource, ModelEntry, ModelState, RegistryOptions, LoadedModel } from './ml/registry.js';
export { InferenceService, InferenceClient } from './ml/inference.js';
export type { InferenceServiceOptions, InferenceConnector, InferencePort, InferOptions, ModelMetadata } from './ml/inference.js';
export { serveKserve } from './ml/http.js';
export type { KserveOptions } from './ml/http.js';
export { parseInferRequest, TensorRequestError, toHalf, fromHalf } from './ml/tensor-json.js';
export type { ParsedInferRequest, ParsedInput } from './ml/tensor-json.js';
export { writeMlp, seededMlp, mlpReference } from './ml/onnx-writer.js';
export type { MlpSpec } from './ml/onnx-writer.js';
