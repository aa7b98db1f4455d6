// What the HTTP layer sees of a transport: a Wire to write to (a node:net socket in
// net-wire.ts, a native descriptor in native-wire.ts), the WireSink a connection gives
// the wire for what arrives, and a Listener. The interfaces are the whole contract
// between the transports and src/http/: a transport imports nothing from it.
//
// Closing follows nginx's lingering close: end() sends what is written, then our FIN;
// what the client still sends is read and dropped until it closes its side or the linger
// time is over, so that a client reading our last answer (a 413, say) is not reset
// before it has it.

export interface Wire {
  write(b: Uint8Array): void;
  /** Writes the buffers in order, gathered into one write where the transport can (writev). */
  writeAll(list: readonly Uint8Array[]): void;
  /** Bytes written but not yet taken by the kernel. */
  buffered(): number;
  /** Calls cb once when everything buffered has gone to the kernel (at once when nothing waits, or when closed). */
  onDrain(cb: () => void): void;
  /**
   * Closes gracefully: what is written goes out, then FIN; the client's bytes are dropped
   * until it closes too, for at most the linger time; then the connection is closed.
   * Idempotent. The idle time (setIdle) keeps running while output waits for the client.
   */
  end(): void;
  /** Closes the connection after `ms` without traffic (0: never). */
  setIdle(ms: number): void;
  /** Closes the connection now, dropping what is unsent. */
  destroy(): void;
  /**
   * Stops reading from the client until as many resumeInput() calls (holds are counted:
   * a streamed body and output backpressure may both hold it).
   */
  pauseInput(): void;
  resumeInput(): void;
}

/**
 * Where a wire delivers what arrives: the connection. The native transport reads straight
 * into the sink's WASM memory (readPtr / readRoom, then received); node:net hands it buffers.
 */
export interface WireSink {
  /** The sink takes no more input (a framing error, a close, a timeout): reading stops. */
  readonly done: boolean;
  /** Free bytes at readPtr() (0: none now). May lease memory for the read. */
  readRoom(): number;
  /** Where in the WASM memory the next bytes go. */
  readPtr(): number;
  /** n bytes were read to readPtr(). */
  received(n: number): void;
  /** A read found nothing: memory leased for it may go back. */
  readIdle(): void;
  /** Bytes from a transport that does not read into WASM memory. */
  data(chunk: Buffer): void;
  /** The client half-closed (FIN). */
  ended(): void;
  /** The connection is closed (by either side); called once. */
  closed(): void;
}

export interface WireOptions {
  /** After the server's FIN, how long (ms) the client has to close its side. */
  lingerMs: number;
  /**
   * While output waits for the client (unsent bytes), how long (ms) it may take none of
   * it before the connection is closed, in every state (a stream included).
   */
  sendTimeoutMs: number;
  /** Most open connections (lingering ones included); more are closed at once. */
  maxConnections: number;
  /** A new connection: its sink, or null to refuse it (it is closed at once). */
  accept(wire: Wire): WireSink | null;
}

export interface Listener {
  readonly host: string;
  readonly port: number;
  /** Stops accepting; open connections go on. */
  stopAccepting(): void;
  /** Frees what is left (closes what is still open). */
  release(): void;
}
