// A map for the few entries a session holds at once (requests in flight, answers owed):
// the first entry lives in two fields, a Map is made only for a second one at the same
// time. An idle session then costs no Map tables, and the usual one request at a time
// costs no Map insert and delete.

export class Keyed<K extends string | number, V> {
  private k: K | undefined = undefined;
  private v: V | undefined = undefined;
  private m: Map<K, V> | null = null;

  get size(): number {
    return (this.k === undefined ? 0 : 1) + (this.m === null ? 0 : this.m.size);
  }

  get(k: K): V | undefined {
    if (this.k === k) return this.v;
    return this.m === null ? undefined : this.m.get(k);
  }

  has(k: K): boolean {
    return this.k === k || (this.m !== null && this.m.has(k));
  }

  set(k: K, v: V): void {
    if (this.k === undefined || this.k === k) {
      if (this.k === undefined && this.m !== null && this.m.has(k)) this.m.set(k, v);
      else {
        this.k = k;
        this.v = v;
      }
      return;
    }
    (this.m ??= new Map()).set(k, v);
  }

  delete(k: K): boolean {
    if (this.k === k && k !== undefined) {
      this.k = undefined;
      this.v = undefined;
      return true;
    }
    if (this.m === null || !this.m.delete(k)) return false;
    if (this.m.size === 0) this.m = null;
    return true;
  }

  /** The values (a copy: safe to change the map while going through them). */
  values(): V[] {
    const out: V[] = [];
    if (this.k !== undefined) out.push(this.v as V);
    if (this.m !== null) for (const v of this.m.values()) out.push(v);
    return out;
  }

  clear(): void {
    this.k = undefined;
    this.v = undefined;
    this.m = null;
  }
}
