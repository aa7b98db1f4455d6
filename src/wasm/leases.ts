// Where the kernels' users get WASM memory: one policy, two kinds of lease.
//
// - A held slot (holdSlot): memory an object keeps between calls (an HTTP parser's pending
//   bytes, a framer's areas, a result writer's output). Slots of one size come from the
//   cores of that size, a core being added when all are leased; a slot goes back with
//   releaseSlot(), or when its owner is garbage-collected without it.
// - Scratch (scratch): memory for the length of one synchronous call (a JSON-RPC parse,
//   tensor numbers). One lane per power-of-two size and build, reused by every call and
//   never held across one, so it is never leased twice at once.
//
// Either kind may be plain memory (shared: false) for users whose memory no other thread
// and no native code reads: V8 copies into and out of shared memory element by element,
// into plain memory with memcpy. A caller that brings its own core leases from it directly
// (core.pool), and keeps to its slot size.

import { WasmCore, type WasmVariant, defaultVariant } from './loader.js';
import type { Slot } from './pool.js';

export interface Lease {
  readonly core: WasmCore;
  readonly slot: Slot;
}

export interface LeaseOptions {
  /** Shared memory (the default: the native transport may read it) or plain. */
  shared?: boolean;
  /** Which build (default: defaultVariant()). */
  variant?: WasmVariant;
}

/** Bytes of memory per core of held slots (the slot count follows: 64 slots of 32 KiB, 8 of 256 KiB). */
const CORE_BYTES = 2 * 1024 * 1024;
const MIN_SLOT = 1024;

const held = new Map<string, WasmCore[]>();

/** Releases the slot of an owner collected while still holding it. */
const finalizer = new FinalizationRegistry<Lease>(({ core, slot }) => {
  if (core.pool.isLive(slot)) core.pool.release(slot);
});

/** The slot size a request is served from: a power of two, at least 1 KiB. */
export function sizeClass(n: number): number {
  let size = MIN_SLOT;
  while (size < n) size *= 2;
  return size;
}

/**
 * A slot of at least `slotSize` bytes (rounded up to a power of two) that `owner` keeps
 * until releaseSlot(), or until it is garbage-collected.
 */
export function holdSlot(slotSize: number, owner: object, options: LeaseOptions = {}): Lease {
  const size = sizeClass(slotSize);
  const shared = options.shared ?? true;
  const variant = options.variant ?? defaultVariant();
  const key = `${size}/${shared ? 's' : 'p'}/${variant}`;
  let cores = held.get(key);
  if (cores === undefined) held.set(key, (cores = []));
  let lease: Lease | undefined;
  for (const core of cores) {
    const slot = core.pool.tryLease();
    if (slot !== null) {
      lease = { core, slot };
      break;
    }
  }
  if (lease === undefined) {
    let core: WasmCore;
    try {
      core = new WasmCore({ slotSize: size, slotCount: Math.max(1, Math.min(64, CORE_BYTES / size)), shared, variant });
    } catch (err) {
      // (plain memory needs the module's bytes: a host that gave loadCore() only a compiled
      // Module gets shared memory, which works the same, only copies slower)
      if (!shared) return holdSlot(slotSize, owner, { ...options, shared: true });
      throw err;
    }
    cores.push(core);
    lease = { core, slot: core.pool.lease() };
  }
  finalizer.register(owner, lease, lease);
  return lease;
}

/** Gives a held slot back (once: a slot already released is left alone). */
export function releaseSlot(lease: Lease): void {
  finalizer.unregister(lease);
  if (lease.core.pool.isLive(lease.slot)) lease.core.pool.release(lease.slot);
}

/** A scratch lane: a core with one slot, for one synchronous call at a time. */
export interface Lane extends Lease {
  /** Where the lane's data starts, and how many bytes it has. */
  readonly data: number;
  readonly capacity: number;
}

const lanes = new Map<string, Lane[]>();

/** The smallest lane of at least n bytes (a new one, of the next power of two ≥ 64 KiB, when none fits). */
export function scratch(n: number, options: LeaseOptions = {}): Lane {
  const shared = options.shared ?? true;
  const variant = options.variant ?? defaultVariant();
  const key = `${shared ? 's' : 'p'}/${variant}`;
  let list = lanes.get(key);
  if (list === undefined) lanes.set(key, (list = []));
  for (const l of list) if (l.capacity >= n) return l;
  let core: WasmCore;
  try {
    core = new WasmCore({ slotSize: Math.max(64 * 1024, sizeClass(n)), slotCount: 1, shared, variant });
  } catch (err) {
    if (!shared) return scratch(n, { ...options, shared: true }); // (as in holdSlot)
    throw err;
  }
  const slot = core.pool.lease();
  const lane: Lane = { core, slot, data: slot.data, capacity: slot.capacity };
  list.push(lane);
  list.sort((a, b) => a.capacity - b.capacity);
  return lane;
}
