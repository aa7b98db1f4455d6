// The models a server can run, by name and version, loaded on first use and kept within
// a memory budget: loading past it unloads the least recently used models that no
// request is using (a model with requests in flight is never unloaded).

import { stat } from 'node:fs/promises';
import { ConduitError, ErrorCodes } from '../errors.js';
import { OnnxModel, type ModelOptions } from './model.js';

/** What a registry needs of a loaded model. */
export interface LoadedModel {
  readonly bytes: number;
  release(): Promise<void>;
}

export interface ModelSource {
  name: string;
  /** Default '1'. */
  version?: string;
  /** A file, or the model's bytes. */
  path?: string;
  data?: Uint8Array;
  options?: ModelOptions;
}

export type ModelState = 'unloaded' | 'loading' | 'ready' | 'failed';

export interface ModelEntry<M> {
  readonly name: string;
  readonly version: string;
  readonly source: ModelSource;
  state: ModelState;
  /** Bytes it takes (the model file's size), known before loading. */
  bytes: number;
  model: M | null;
  /** Requests using it now. */
  inflight: number;
  lastUsed: number;
  error: string | null;
  loading: Promise<M> | null;
}

export interface RegistryOptions<M extends LoadedModel> {
  /** Bytes of models kept loaded at most (default 2 GiB). */
  memoryBudget?: number;
  /** How a source becomes a model (default: OnnxModel.load). */
  load?: (source: ModelSource) => Promise<M>;
  /** One line per load and unload. */
  log?: (line: string) => void;
}

const notFound = (m: string) => new ConduitError(ErrorCodes.MODEL_NOT_FOUND, m);

export class ModelRegistry<M extends LoadedModel = OnnxModel> {
  private readonly entries = new Map<string, ModelEntry<M>>();
  readonly memoryBudget: number;
  private readonly loader: (source: ModelSource) => Promise<M>;
  private readonly log: (line: string) => void;
  private clock = 0;

  constructor(options: RegistryOptions<M> = {}) {
    const budget = options.memoryBudget ?? 2 * 1024 ** 3;
    if (!Number.isSafeInteger(budget) || budget <= 0) throw new ConduitError(ErrorCodes.INVALID_OPTION, `memoryBudget must be a positive integer (bytes), got ${budget}`);
    this.memoryBudget = budget;
    this.loader = options.load ?? ((s) => OnnxModel.load(s.name, s.data ?? s.path!, s.options) as unknown as Promise<M>);
    this.log = options.log ?? (() => {});
  }

  /** Bytes of the models loaded (or loading) now. */
  get loadedBytes(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.state === 'ready' || e.state === 'loading') n += e.bytes;
    return n;
  }

  /** Registers a model (not loaded until first used, or load()). */
  async add(source: ModelSource): Promise<ModelEntry<M>> {
    const version = source.version ?? '1';
    if (typeof source.name !== 'string' || !/^[A-Za-z0-9_.-]{1,128}$/.test(source.name)) {
      throw new ConduitError(ErrorCodes.INVALID_OPTION, `a model name must be 1-128 characters of A-Z a-z 0-9 _ . -, got ${JSON.stringify(source.name)}`);
    }
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(version)) throw new ConduitError(ErrorCodes.INVALID_OPTION, `model ${source.name}: invalid version ${JSON.stringify(version)}`);
    if ((source.path === undefined) === (source.data === undefined)) throw new ConduitError(ErrorCodes.INVALID_OPTION, `model ${source.name}: give a path or data`);
    const key = `${source.name}\0${version}`;
    if (this.entries.has(key)) throw new ConduitError(ErrorCodes.INVALID_OPTION, `model ${source.name} version ${version} is already registered`);
    let bytes: number;
    if (source.data !== undefined) bytes = source.data.length;
    else {
      try {
        bytes = (await stat(source.path!)).size;
      } catch (e) {
        throw new ConduitError(ErrorCodes.MODEL_LOAD, `model ${source.name}: cannot read ${source.path}: ${(e as Error).message}`);
      }
    }
    const entry: ModelEntry<M> = { name: source.name, version, source, state: 'unloaded', bytes, model: null, inflight: 0, lastUsed: 0, error: null, loading: null };
    this.entries.set(key, entry);
    return entry;
  }

  /** An entry, or undefined. Without a version: the highest one (numeric when they are numbers). */
  get(name: string, version?: string): ModelEntry<M> | undefined {
    if (version !== undefined) return this.entries.get(`${name}\0${version}`);
    let best: ModelEntry<M> | undefined;
    for (const e of this.entries.values()) {
      if (e.name !== name) continue;
      if (best === undefined || compareVersions(e.version, best.version) > 0) best = e;
    }
    return best;
  }

  list(): Array<ModelEntry<M>> {
    return [...this.entries.values()];
  }

  /**
   * The model for a request, loaded if need be; call release() when the request is done
   * (until then it is never unloaded). Throws CONDUIT_ERR_MODEL_NOT_FOUND for an unknown
   * name or version, CONDUIT_ERR_MODEL_MEMORY when it cannot fit beside busy models.
   */
  async acquire(name: string, version?: string): Promise<{ model: M; release(): void }> {
    const e = this.get(name, version);
    if (e === undefined) throw notFound(version === undefined ? `unknown model ${name}` : `unknown version ${version} of model ${name}`);
    e.inflight++;
    e.lastUsed = ++this.clock;
    try {
      const model = e.model ?? (await this.loadEntry(e));
      let released = false;
      return {
        model,
        release: () => {
          if (released) return;
          released = true;
          e.inflight--;
        },
      };
    } catch (err) {
      e.inflight--;
      throw err;
    }
  }

  /** Loads a model now (repository control; --preload). */
  async load(name: string, version?: string): Promise<M> {
    const e = this.get(name, version);
    if (e === undefined) throw notFound(`unknown model ${name}`);
    e.lastUsed = ++this.clock;
    return e.model ?? this.loadEntry(e);
  }

  /** Unloads a model (when no request uses it: else CONDUIT_ERR_MODEL_BUSY). */
  async unload(name: string, version?: string): Promise<void> {
    const e = this.get(name, version);
    if (e === undefined) throw notFound(`unknown model ${name}`);
    if (e.inflight > 0) throw new ConduitError(ErrorCodes.MODEL_BUSY, `model ${name} has ${e.inflight} requests in flight`);
    await this.unloadEntry(e, 'unloaded on request');
  }

  private loadEntry(e: ModelEntry<M>): Promise<M> {
    if (e.loading !== null) return e.loading;
    e.loading = (async () => {
      try {
        await this.makeRoom(e);
        e.state = 'loading';
        const model = await this.loader(e.source);
        const line = (model as { loadLine?: string }).loadLine;
        this.log(`${line ?? `model ${e.name} loaded`} (version ${e.version})`);
        e.bytes = model.bytes;
        e.model = model;
        e.state = 'ready';
        e.error = null;
        return model;
      } catch (err) {
        e.state = 'failed';
        e.error = (err as Error).message;
        throw err;
      } finally {
        e.loading = null;
      }
    })();
    return e.loading;
  }

  /** Unloads least recently used idle models until `e` fits the budget. */
  private async makeRoom(e: ModelEntry<M>): Promise<void> {
    if (e.bytes > this.memoryBudget) {
      throw new ConduitError(ErrorCodes.MODEL_MEMORY, `model ${e.name} (${e.bytes} bytes) is larger than the model memory budget (${this.memoryBudget} bytes)`);
    }
    while (this.loadedBytes + e.bytes > this.memoryBudget) {
      let victim: ModelEntry<M> | undefined;
      for (const x of this.entries.values()) {
        if (x === e || x.state !== 'ready' || x.inflight > 0) continue;
        if (victim === undefined || x.lastUsed < victim.lastUsed) victim = x;
      }
      if (victim === undefined) {
        throw new ConduitError(ErrorCodes.MODEL_MEMORY,
          `model ${e.name} (${e.bytes} bytes) does not fit: ${this.loadedBytes} of ${this.memoryBudget} bytes are held by models in use`);
      }
      await this.unloadEntry(victim, `evicted for ${e.name} (least recently used)`);
    }
  }

  private async unloadEntry(e: ModelEntry<M>, why: string): Promise<void> {
    const m = e.model;
    if (m === null) return;
    e.model = null;
    e.state = 'unloaded';
    this.log(`model ${e.name} version ${e.version}: ${why} (${e.bytes} bytes)`);
    await m.release();
  }
}

function compareVersions(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}
