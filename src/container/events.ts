import type { EngineEvent } from '../api/containers.js';

const RING_SIZE = 256;

function nowNano(): { time: string; timeNano: string } {
  const ns = process.hrtime.bigint();
  // hrtime has no epoch; anchor it to the wall clock once and count from there.
  const nano = EPOCH_OFFSET + ns;
  const ms = Number(nano / 1_000_000n);
  return { time: new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${String(nano % 1_000_000_000n).padStart(9, '0')}Z`), timeNano: nano.toString() };
}
const EPOCH_OFFSET = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** The last events in memory, and live delivery to subscribers (isula events). */
export class EventLog {
  private readonly ring: EngineEvent[] = [];
  private readonly subscribers = new Set<(e: EngineEvent) => void>();

  emit(type: EngineEvent['type'], action: string, id: string, attributes: Record<string, string> = {}): EngineEvent {
    const event: EngineEvent = { ...nowNano(), type, action, id, attributes };
    this.ring.push(event);
    if (this.ring.length > RING_SIZE) this.ring.shift();
    for (const s of this.subscribers) s(event);
    return event;
  }

  /** Buffered events, oldest first. */
  history(): readonly EngineEvent[] {
    return this.ring;
  }

  subscribe(listener: (e: EngineEvent) => void): () => void {
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }
}
