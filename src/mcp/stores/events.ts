// SSE events kept for resumption: every event sent on a session's SSE streams gets an id;
// a client that reconnects with Last-Event-ID gets what followed it on the same stream.
// The in-memory store bounds each stream by count and bytes and each session by streams;
// a Redis store (streams as capped lists) implements the same interface across machines.

export interface StoredEvent {
  id: string;
  data: string;
}

export interface EventStore {
  /** Keeps an event of a session's stream; returns its id (unique within the session). */
  append(sessionId: string, streamId: string, data: string): string;
  /**
   * The events after `lastEventId` on its stream, or null when that event is unknown or
   * no longer kept (then the client cannot resume).
   */
  replay(sessionId: string, lastEventId: string): { streamId: string; events: StoredEvent[] } | null;
  /** Forgets a stream. */
  dropStream(sessionId: string, streamId: string): void;
  /** Forgets every stream of a session. */
  dropSession(sessionId: string): void;
}

export interface MemoryEventStoreOptions {
  /** Events kept per stream (default 256). */
  maxEventsPerStream?: number;
  /** Bytes kept per stream (default 1 MiB). */
  maxBytesPerStream?: number;
  /** Streams kept per session, most recent (default 16). */
  maxStreamsPerSession?: number;
  /**
   * Bytes kept in all (default 64 MiB): past it, the streams appended to least recently
   * are forgotten first (their clients can no longer resume them).
   */
  maxBytes?: number;
}

interface Ring {
  session: string;
  stream: string;
  /** Sequence numbers of the events kept (increasing; from the store-wide counter). */
  seqs: number[];
  events: string[];
  bytes: number;
  /**
   * Events up to this sequence number are not replayable from this ring (dropped to stay
   * within bounds, or sent before the ring was made): a resume from before it fails.
   */
  lost: number;
}

export class MemoryEventStore implements EventStore {
  private readonly sessions = new Map<string, Map<string, Ring>>();
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly maxStreams: number;
  private readonly maxTotal: number;
  /** Every ring, least recently appended to first (for the overall byte budget). */
  private readonly recent = new Set<Ring>();
  private total = 0;
  /**
   * One counter for every event of the store: an id is never given twice, even for a
   * stream whose ring was forgotten (bounds) and made again.
   */
  private seq = 0;

  constructor(options: MemoryEventStoreOptions = {}) {
    this.maxEvents = options.maxEventsPerStream ?? 256;
    this.maxBytes = options.maxBytesPerStream ?? 1024 * 1024;
    this.maxStreams = options.maxStreamsPerSession ?? 16;
    this.maxTotal = options.maxBytes ?? 64 * 1024 * 1024;
  }

  /** Bytes of event data kept now. */
  get bytes(): number {
    return this.total;
  }

  private forget(ring: Ring): void {
    this.total -= ring.bytes;
    this.recent.delete(ring);
    const streams = this.sessions.get(ring.session);
    if (streams?.get(ring.stream) === ring) {
      streams.delete(ring.stream);
      if (streams.size === 0) this.sessions.delete(ring.session);
    }
  }

  append(sessionId: string, streamId: string, data: string): string {
    let streams = this.sessions.get(sessionId);
    if (streams === undefined) this.sessions.set(sessionId, (streams = new Map()));
    let ring = streams.get(streamId);
    const seq = this.seq++;
    if (ring === undefined) {
      if (streams.size >= this.maxStreams) this.forget(streams.values().next().value as Ring);
      ring = { session: sessionId, stream: streamId, seqs: [], events: [], bytes: 0, lost: seq - 1 };
      streams.set(streamId, ring);
      if (!this.sessions.has(sessionId)) this.sessions.set(sessionId, streams);
    } else this.recent.delete(ring);
    this.recent.add(ring);
    ring.seqs.push(seq);
    ring.events.push(data);
    ring.bytes += data.length;
    this.total += data.length;
    while (ring.events.length > 1 && (ring.events.length > this.maxEvents || ring.bytes > this.maxBytes)) {
      const n = (ring.events.shift() as string).length;
      ring.lost = ring.seqs.shift() as number;
      ring.bytes -= n;
      this.total -= n;
    }
    // Over the overall budget: the streams appended to least recently go first.
    while (this.total > this.maxTotal && this.recent.size > 1) {
      const oldest = this.recent.values().next().value as Ring;
      if (oldest === ring) break;
      this.forget(oldest);
    }
    return `${streamId}_${seq}`;
  }

  replay(sessionId: string, lastEventId: string): { streamId: string; events: StoredEvent[] } | null {
    const cut = lastEventId.lastIndexOf('_');
    if (cut <= 0) return null;
    const streamId = lastEventId.slice(0, cut);
    const digits = lastEventId.slice(cut + 1);
    if (!/^\d{1,15}$/.test(digits)) return null;
    const seq = Number(digits);
    const ring = this.sessions.get(sessionId)?.get(streamId);
    // Unknown, not given yet, or events after it no longer kept: no resume.
    if (ring === undefined || seq >= this.seq || seq < ring.lost) return null;
    const events: StoredEvent[] = [];
    for (let i = 0; i < ring.seqs.length; i++) {
      if (ring.seqs[i] > seq) events.push({ id: `${streamId}_${ring.seqs[i]}`, data: ring.events[i] });
    }
    return { streamId, events };
  }

  dropStream(sessionId: string, streamId: string): void {
    const ring = this.sessions.get(sessionId)?.get(streamId);
    if (ring !== undefined) this.forget(ring);
  }

  dropSession(sessionId: string): void {
    const streams = this.sessions.get(sessionId);
    if (streams === undefined) return;
    for (const ring of [...streams.values()]) this.forget(ring);
    this.sessions.delete(sessionId);
  }
}
