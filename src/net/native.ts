// Loads the native transport (native/, built by `npm run build:native` during install).
// It is optional: when it is missing, or CONDUIT_TRANSPORT=net, Conduit uses node:net
// with the same WASM core, and nativeTransport() says why in one line.

import { createRequire } from 'node:module';

/** The addon's JS face (see native/src/addon.cc). */
export interface NativeTransport {
  /** (fd, events) pairs of the last onReady(count) call. */
  readonly events: Int32Array;
  setMemory(u8: Uint8Array): void;
  /**
   * Listening socket (non-blocking, SO_REUSEADDR, watched). Throws with the reason (its
   * `errno`: compare with EADDRINUSE & co). reusePort (SO_REUSEPORT: listeners sharing the
   * port, one per worker):
   * - false / absent: exclusive: a port anybody holds is refused (EADDRINUSE);
   * - `'lead'`: the first listener of a group: bound without SO_REUSEPORT, so a port
   *   anybody holds (another server's reuseport group included) is refused, then given
   *   SO_REUSEPORT so that the other workers (same user) can join;
   * - `true`: join: SO_REUSEPORT before the bind, sharing the port with a lead or other
   *   joiners (the kernel spreads connections over them).
   */
  listen(host: string, port: number, backlog: number, reusePort?: boolean | 'lead'): number;
  localPort(fd: number): number;
  /** A connection (non-blocking, TCP_NODELAY, watched for reads), or -errno (-EAGAIN: none waiting). */
  accept(listenFd: number): number;
  /** Bytes read into memory[offset..offset+len), 0 at EOF, or -errno. */
  read(fd: number, offset: number, len: number): number;
  /** Bytes written from memory[offset..offset+len), or -errno. */
  write(fd: number, offset: number, len: number): number;
  writeBuffer(fd: number, bytes: Uint8Array): number;
  /**
   * Writes the buffers in order with one gathering syscall (writev; the first MAX_IOV of
   * them): bytes written, or -errno. A short count may end inside a buffer.
   */
  writev(fd: number, buffers: readonly Uint8Array[]): number;
  /** Report (or stop reporting) WRITABLE for fd: ask while output waits for room. */
  wantWritable(fd: number, on: boolean): number;
  /**
   * Half-closes fd: sends our FIN (shutdown(SHUT_WR)) and keeps reading, for a lingering
   * close (close() with unread input would reset the connection and could destroy a
   * response the client has not read yet). 0 or -errno; only descriptors this transport
   * opened (-EBADF otherwise).
   */
  shutdown(fd: number): number;
  /**
   * Reads and drops up to `max` (>= 1) bytes, until EAGAIN, EOF or `max`:
   * - > 0: the bytes dropped (EOF or an error may have followed them: the next call says,
   *   so call again until the result is <= 0);
   * - 0: EOF (the peer has closed) and nothing was dropped by this call;
   * - -errno: nothing was dropped: -EAGAIN when nothing waits, else the error.
   * Only descriptors this transport opened (-EBADF otherwise).
   */
  discard(fd: number, max: number): number;
  close(fd: number): number;
  destroy(): void;
}

export interface NativeModule {
  Transport: new (onReady: (count: number) => void) => NativeTransport;
  EAGAIN: number;
  ECONNABORTED: number;
  EINTR: number;
  /** Errno values of this platform (they differ between Linux and macOS). */
  EADDRINUSE: number;
  EADDRNOTAVAIL: number;
  EACCES: number;
  EPIPE: number;
  ECONNRESET: number;
  READABLE: number;
  WRITABLE: number;
  HANGUP: number;
  ERROR: number;
  MAX_EVENTS: number;
  MAX_IOV: number;
}

let loaded: { module: NativeModule | null; reason: string } | undefined;

/** The native module, or null with the reason it is not used. */
export function nativeTransport(): { module: NativeModule | null; reason: string } {
  if (loaded === undefined) {
    if (process.env.CONDUIT_TRANSPORT === 'net') {
      loaded = { module: null, reason: 'CONDUIT_TRANSPORT=net' };
    } else {
      try {
        const require = createRequire(import.meta.url);
        const module = require('../../native/build/Release/conduit_native.node') as NativeModule;
        loaded = { module, reason: process.platform === 'linux' ? 'epoll' : 'kqueue' };
      } catch (err) {
        loaded = { module: null, reason: `native transport unavailable (${(err as Error).message.split('\n')[0]}): using node:net` };
      }
    }
  }
  return loaded;
}
