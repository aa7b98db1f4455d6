// Where sessions live. The in-memory store keeps them in this process, least recently
// used first, with an idle TTL and a cap; a Redis store would keep the durable part of
// each session (what initialize negotiated) so that any process can serve it.

export interface StoredSession {
  /** Milliseconds since the epoch of the last request (the store sets it on get/add). */
  lastSeen: number;
  /** Whether the session may be evicted now (no request running, no stream open). */
  idle(): boolean;
  /** Ends the session (evicted, expired or deleted). */
  close(reason: string): void;
}

export interface SessionStore<S extends StoredSession> {
  get(id: string): S | undefined;
  /** Adds a session; false when the store is full of busy sessions. */
  add(id: string, session: S): boolean;
  delete(id: string): S | undefined;
  readonly size: number;
  /** Stops timers and closes every session. */
  close(): void;
}

export interface MemorySessionStoreOptions {
  /** Most live sessions (default 10,000): at the cap the least recently used idle one is evicted. */
  maxSessions?: number;
  /** A session unused this long (ms) is closed (default 30 minutes). */
  idleTimeout?: number;
}

export class MemorySessionStore<S extends StoredSession> implements SessionStore<S> {
  /** Insertion order = least recently used first (get() moves a session to the end). */
  private readonly map = new Map<string, S>();
  readonly maxSessions: number;
  readonly idleTimeout: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(options: MemorySessionStoreOptions = {}) {
    this.maxSessions = options.maxSessions ?? 10_000;
    this.idleTimeout = options.idleTimeout ?? 30 * 60_000;
  }

  get size(): number {
    return this.map.size;
  }

  get(id: string): S | undefined {
    const s = this.map.get(id);
    if (s === undefined) return undefined;
    const now = Date.now();
    // Moved to the most recently used end (Map keeps insertion order) at most once a
    // second: the order is LRU to within a second, and a busy session costs one lookup.
    if (now - s.lastSeen >= 1000) {
      this.map.delete(id);
      this.map.set(id, s);
    }
    s.lastSeen = now;
    return s;
  }

  add(id: string, session: S): boolean {
    if (this.map.size >= this.maxSessions && !this.evictOne()) return false;
    session.lastSeen = Date.now();
    this.map.set(id, session);
    this.arm();
    return true;
  }

  delete(id: string): S | undefined {
    const s = this.map.get(id);
    if (s !== undefined) this.map.delete(id);
    if (this.map.size === 0) this.disarm();
    return s;
  }

  close(): void {
    this.disarm();
    const all = [...this.map.values()];
    this.map.clear();
    for (const s of all) s.close('the server is closing');
  }

  private evictOne(): boolean {
    for (const [id, s] of this.map) {
      if (!s.idle()) continue;
      this.map.delete(id);
      s.close('evicted: too many sessions');
      return true;
    }
    return false;
  }

  /** Closes sessions idle past the TTL (oldest first; stops at the first recent one, give or take the second of get()). */
  sweep(now = Date.now()): void {
    for (const [id, s] of this.map) {
      if (now - s.lastSeen < this.idleTimeout - 1000) break;
      if (now - s.lastSeen < this.idleTimeout) continue;
      if (!s.idle()) continue;
      this.map.delete(id);
      s.close('expired');
    }
    if (this.map.size === 0) this.disarm();
  }

  private arm(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.sweep(), Math.max(1000, Math.min(60_000, this.idleTimeout / 4)));
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }
}
