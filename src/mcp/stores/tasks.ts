// The tasks extension (io.modelcontextprotocol/tasks, SEP-2663) on the 2026-07-28
// revision: where tasks live. A task is created by a task-supporting tools/call; clients
// poll it with tasks/get, answer its input requests with tasks/update and stop it with
// tasks/cancel. The store keeps the task's data (status, times, the inlined result or
// error, the input requests still pending), bounded in count and bytes, each task kept
// for its ttlMs after it was last updated. An in-memory store is one process; a Redis one
// would span machines (the running handler itself stays in the process that runs it).

export type TaskStatus = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';

export interface TaskRecord {
  taskId: string;
  status: TaskStatus;
  /** ISO 8601. */
  createdAt: string;
  lastUpdatedAt: string;
  ttlMs: number;
  pollIntervalMs: number;
  statusMessage?: string;
  /** Input requests still pending (status input_required), by key. */
  inputRequests?: Record<string, { method: string; params: Record<string, unknown> }>;
  /** The tool's result (completed), or the JSON-RPC error (failed). */
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

export interface TaskStore {
  /** Adds a task; false when the store is full (the caller answers 503). */
  create(task: TaskRecord): boolean;
  get(taskId: string): TaskRecord | undefined;
  /** Replaces a task's data (lastUpdatedAt is set by the caller). */
  put(task: TaskRecord): void;
  close(): void;
}

export interface MemoryTaskStoreOptions {
  /** Most tasks kept (default 10,000). */
  maxTasks?: number;
  /** Most bytes of results and errors kept, as JSON (default 64 MiB). */
  maxBytes?: number;
}

/** Tasks in memory: expired after ttlMs from their last update; the oldest finished ones go first when full. */
export class MemoryTaskStore implements TaskStore {
  private readonly tasks = new Map<string, { task: TaskRecord; bytes: number; expires: number }>();
  private bytes = 0;
  private readonly maxTasks: number;
  private readonly maxBytes: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(options: MemoryTaskStoreOptions = {}) {
    this.maxTasks = options.maxTasks ?? 10_000;
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, e] of this.tasks) if (e.expires <= now) this.drop(id);
    if (this.tasks.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private drop(id: string): void {
    const e = this.tasks.get(id);
    if (e === undefined) return;
    this.bytes -= e.bytes;
    this.tasks.delete(id);
  }

  /** Makes room: finished tasks first, oldest first. */
  private room(need: number, count: number): boolean {
    this.sweep();
    if (this.tasks.size + count <= this.maxTasks && this.bytes + need <= this.maxBytes) return true;
    for (const [id, e] of this.tasks) {
      if (this.tasks.size + count <= this.maxTasks && this.bytes + need <= this.maxBytes) break;
      const s = e.task.status;
      if (s === 'completed' || s === 'failed' || s === 'cancelled') this.drop(id);
    }
    return this.tasks.size + count <= this.maxTasks && this.bytes + need <= this.maxBytes;
  }

  create(task: TaskRecord): boolean {
    if (!this.room(0, 1)) return false;
    this.tasks.set(task.taskId, { task, bytes: 0, expires: Date.now() + task.ttlMs });
    if (this.timer === null) {
      this.timer = setInterval(() => this.sweep(), 1000);
      this.timer.unref();
    }
    return true;
  }

  get(taskId: string): TaskRecord | undefined {
    const e = this.tasks.get(taskId);
    if (e === undefined) return undefined;
    if (e.expires <= Date.now()) {
      this.drop(taskId);
      return undefined;
    }
    return e.task;
  }

  put(task: TaskRecord): void {
    const old = this.tasks.get(task.taskId);
    if (old === undefined) return;
    const bytes = task.result !== undefined || task.error !== undefined ? JSON.stringify(task.result ?? task.error).length : 0;
    this.bytes += bytes - old.bytes;
    old.task = task;
    old.bytes = bytes;
    old.expires = Date.now() + task.ttlMs;
    if (this.bytes > this.maxBytes) this.room(0, 0);
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.tasks.clear();
    this.bytes = 0;
  }
}
