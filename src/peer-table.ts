/**
 * The peers a server transport without connections (UDP, NATS) has heard
 * from, each forgotten after `ttl` ms of silence.
 *
 * Peers are kept in a `Map` in the order they were last heard from, so the
 * one to expire next is always the first: the expiry timer is one `unref()`ed
 * timeout, armed only while there are peers.
 *
 * @module
 */

/** What the table needs of a peer. */
export interface TrackedPeer {
  /** How the transport finds the peer. */
  readonly key: string;
  /** When it was last heard from (ms since the epoch). */
  readonly lastActivity: number;
  /** True once it has ended (it is then dropped without `onIdle`). */
  readonly closed: boolean;
}

/** Peers by key, least recently heard from first. */
export class PeerTable<P extends TrackedPeer> {
  readonly #peers = new Map<string, P>();
  readonly #ttl: number;
  readonly #onIdle: (peer: P, silentMs: number) => void;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  /**
   * @param ttl - ms of silence after which a peer is dropped
   * @param onIdle - ends a peer silent for `silentMs` ms (it should end up {@link forget}-ten)
   */
  constructor(ttl: number, onIdle: (peer: P, silentMs: number) => void) {
    this.#ttl = ttl;
    this.#onIdle = onIdle;
  }

  /** Peers known. */
  get size(): number {
    return this.#peers.size;
  }

  /** The peer with this key. */
  get(key: string): P | undefined {
    return this.#peers.get(key);
  }

  /** Every peer, least recently heard from first. */
  values(): P[] {
    return [...this.#peers.values()];
  }

  /** The peer was just heard from (or is new): it moves last, and the timer is armed. */
  heard(peer: P): void {
    this.#peers.delete(peer.key); // re-inserted last: the map stays in order of last activity
    this.#peers.set(peer.key, peer);
    this.#arm();
  }

  /** Forgets the peer, if it is the one under its key. */
  forget(peer: P): void {
    if (this.#peers.get(peer.key) === peer) this.#peers.delete(peer.key);
  }

  /** Drops the peers not heard from within `ttl`. */
  expire(): void {
    const now = Date.now();
    for (const peer of this.#peers.values()) {
      if (peer.closed) {
        this.#peers.delete(peer.key);
        continue;
      }
      if (now - peer.lastActivity < this.#ttl) break; // the rest were heard from later
      this.#onIdle(peer, now - peer.lastActivity);
      this.#peers.delete(peer.key);
    }
  }

  /** Stops the timer for good. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Arms the expiry timer for the peer heard from least recently, if it is not armed. */
  #arm(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    const first = this.#peers.values().next();
    if (first.done === true) return;
    const delay = Math.max(0, first.value.lastActivity + this.#ttl - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.expire();
      this.#arm();
    }, delay);
    this.#timer.unref();
  }
}
