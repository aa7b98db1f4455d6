// Notifications that concern more than one session (list_changed, resources/updated).
// The server publishes; every process serving sessions subscribes. The in-memory bus is
// one process; a Redis pub/sub implementation of the same interface spans machines.

export interface BusMessage {
  method: string;
  params?: Record<string, unknown>;
  /** For resources/updated: only sessions subscribed to this URI get it. */
  uri?: string;
}

export interface NotificationBus {
  publish(message: BusMessage): void;
  /** Returns the unsubscribe function. */
  subscribe(listener: (message: BusMessage) => void): () => void;
}

export class MemoryNotificationBus implements NotificationBus {
  private readonly listeners = new Set<(message: BusMessage) => void>();

  publish(message: BusMessage): void {
    for (const l of this.listeners) l(message);
  }

  subscribe(listener: (message: BusMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
