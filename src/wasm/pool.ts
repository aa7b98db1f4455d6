// The buffer pool: fixed-size slots in the core's memory, leased and released by
// TypeScript. Each lease carries the slot's generation; releasing bumps it, so a handle
// kept after release is detected (check() throws) instead of silently reading bytes
// that now belong to another connection.

import { ABI } from './abi.generated.js';
import { ConduitError, ErrorCodes } from '../errors.js';

export class Slot {
  /** Slot number. */
  readonly index: number;
  /** Generation at lease time. */
  readonly generation: number;
  /** Address of the slot's 64-byte parser state. */
  readonly state: number;
  /** Address of the slot's data. */
  readonly data: number;
  /** Data bytes (the padding after them is not included). */
  readonly capacity: number;
  constructor(index: number, generation: number, state: number, data: number, capacity: number) {
    this.index = index;
    this.generation = generation;
    this.state = state;
    this.data = data;
    this.capacity = capacity;
  }
}

export class BufferPool {
  readonly base: number;
  readonly slotSize: number;
  readonly slotCount: number;
  readonly stride: number;
  private readonly generations: Uint32Array;
  private readonly free: Int32Array;
  private freeTop: number;

  constructor(base: number, slotSize: number, slotCount: number) {
    this.base = base;
    this.slotSize = slotSize;
    this.slotCount = slotCount;
    this.stride = ABI.SLOT_HEADER + slotSize + ABI.SLOT_PADDING;
    // Odd generation = leased, even = free.
    this.generations = new Uint32Array(slotCount);
    this.free = new Int32Array(slotCount);
    for (let i = 0; i < slotCount; i++) this.free[i] = slotCount - 1 - i;
    this.freeTop = slotCount;
  }

  /** Free slots left. */
  get available(): number {
    return this.freeTop;
  }

  /** Leases a slot, or returns null when none is free. */
  tryLease(): Slot | null {
    if (this.freeTop === 0) return null;
    const index = this.free[--this.freeTop];
    const generation = ++this.generations[index];
    const state = this.base + index * this.stride;
    return new Slot(index, generation, state, state + ABI.SLOT_HEADER, this.slotSize);
  }

  lease(): Slot {
    const s = this.tryLease();
    if (s === null) throw new ConduitError(ErrorCodes.POOL_EXHAUSTED, `all ${this.slotCount} buffer slots are leased`);
    return s;
  }

  /** Whether the lease is still the current one for its slot. */
  isLive(slot: Slot): boolean {
    return this.generations[slot.index] === slot.generation;
  }

  /** Throws CONDUIT_ERR_STALE_SLOT when the lease was released. */
  check(slot: Slot): void {
    if (this.generations[slot.index] !== slot.generation) {
      throw new ConduitError(ErrorCodes.STALE_SLOT, `slot ${slot.index} was released (generation ${slot.generation}, now ${this.generations[slot.index]})`);
    }
  }

  release(slot: Slot): void {
    this.check(slot);
    this.generations[slot.index]++;
    this.free[this.freeTop++] = slot.index;
  }
}
