/**
 * The receiver's memory of acknowledged messages: for each client identity,
 * the highest sequence number delivered. A resent message whose number is not
 * above it is a duplicate: it is acknowledged again but not delivered twice.
 *
 * Bounded: at most `maxClients` identities, the least recently seen dropped
 * first, and identities not seen for `ttl` ms are forgotten. Pure: the time
 * is passed in.
 *
 * @module
 */

/** Limits of a {@link DedupStore}. */
export interface DedupLimits {
  /** Most client identities remembered. */
  readonly maxClients: number;
  /** Milliseconds after which a client that was not seen is forgotten. */
  readonly ttl: number;
}

interface Entry {
  seq: number;
  seen: number;
}

/** Remembers the last delivered sequence number per client identity. */
export class DedupStore {
  readonly #limits: DedupLimits;
  /** Insertion order is recency order: an entry is re-inserted when seen. */
  readonly #clients = new Map<string, Entry>();

  /** @param limits - how many clients, for how long */
  constructor(limits: DedupLimits) {
    this.#limits = limits;
  }

  /** Client identities remembered. */
  get size(): number {
    return this.#clients.size;
  }

  /**
   * Records message `seq` from `client` and says whether to deliver it.
   * Sequence numbers of one client arrive in increasing order (resends come
   * first after a reconnect), so a number not above the last one is a
   * duplicate. "Above" is serial-number arithmetic on u32 (RFC 1982), so the
   * sender's wrap from 0xFFFFFFFF back to 1 keeps counting as newer.
   *
   * @returns true to deliver, false for a duplicate
   */
  accept(client: string, seq: number, now: number): boolean {
    this.#expire(now);
    const entry = this.#clients.get(client);
    if (entry !== undefined) {
      this.#clients.delete(client);
      entry.seen = now;
      this.#clients.set(client, entry);
      if (!isNewer(seq, entry.seq)) return false;
      entry.seq = seq;
      return true;
    }
    this.#clients.set(client, { seq, seen: now });
    while (this.#clients.size > this.#limits.maxClients) {
      const oldest = this.#clients.keys().next();
      if (oldest.done === true) break;
      this.#clients.delete(oldest.value);
    }
    return true;
  }

  /** Drops identities not seen for `ttl` ms (the map is in recency order, so it stops at the first fresh one). */
  #expire(now: number): void {
    for (const [client, entry] of this.#clients) {
      if (now - entry.seen <= this.#limits.ttl) break;
      this.#clients.delete(client);
    }
  }
}

/** True when u32 `seq` comes after `last` in serial-number order (less than 2^31 ahead). */
export function isNewer(seq: number, last: number): boolean {
  const ahead = (seq - last) >>> 0;
  return ahead !== 0 && ahead < 0x8000_0000;
}
