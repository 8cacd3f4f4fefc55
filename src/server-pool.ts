/**
 * Choosing a server for each send or request when a client has several
 * (`servers` option): round-robin, failover or random, over the members that
 * are connected. Pure: members only say whether they are connected and
 * whether they could queue.
 *
 * @module
 */

/** How the servers share the work. */
export type Strategy = 'round-robin' | 'failover' | 'random';

/** How the pool asks a member about itself. */
export interface PoolProbe<M> {
  /** Connected now. */
  connected(member: M): boolean;
  /** Not connected, but on its way (so a send can wait in its queue). */
  waiting(member: M): boolean;
}

/** Picks members by strategy. */
export class ServerPool<M> {
  /** The servers, in the order given. */
  readonly members: readonly M[];
  readonly #strategy: Strategy;
  readonly #probe: PoolProbe<M>;
  readonly #random: () => number;
  #next = 0;

  /**
   * @param members - the servers, in the order given
   * @param strategy - how to share the work
   * @param probe - how to ask a member whether it is connected or waiting
   * @param random - for `'random'` (tests pass a fixed one)
   */
  constructor(members: readonly M[], strategy: Strategy, probe: PoolProbe<M>, random: () => number = Math.random) {
    this.members = members;
    this.#strategy = strategy;
    this.#probe = probe;
    this.#random = random;
  }

  /**
   * The member to use: a connected one chosen by the strategy; when none is
   * connected, a reconnecting one (its queue holds the send until it is
   * back), round-robin; `undefined` when there is neither.
   */
  pick(): M | undefined {
    const connected = this.members.filter((m) => this.#probe.connected(m));
    if (connected.length > 0) {
      switch (this.#strategy) {
        case 'failover':
          return connected[0];
        case 'random':
          return connected[Math.floor(this.#random() * connected.length)];
        case 'round-robin':
          return this.#roundRobin(connected);
      }
    }
    const waiting = this.members.filter((m) => this.#probe.waiting(m));
    return waiting.length > 0 ? this.#roundRobin(waiting) : undefined;
  }

  #roundRobin(candidates: readonly M[]): M | undefined {
    const m = candidates[this.#next % candidates.length];
    this.#next = (this.#next + 1) % 0x7fff_ffff;
    return m;
  }
}
