/**
 * A client's figures for `stats()`: the connects it counts, the counters of
 * its connections (ended and current) or of its transport added up, its
 * queues, and for a client with several servers the sum of its children's.
 * The functions are pure but for the clock; {@link ConnectTally} is the one
 * piece of state, the connects the client counts.
 *
 * @module
 */
import type { ClientState } from './client-types.js';
import type { Connection } from './connection.js';
import type { Outbox } from './outbox.js';
import { type ClientStats, type ConnectionCounters, addCounters, newCounters } from './stats.js';
import type { ClientTransport } from './transport.js';

/** How often a client connected, and when it last did. */
export class ConnectTally {
  #connects = 0;
  #connectedAt = 0;

  /** Counts a connect: the first, or a reconnect. */
  connected(): void {
    this.#connects++;
    this.#connectedAt = Date.now();
  }

  /** Connects after the first. */
  get reconnects(): number {
    return Math.max(0, this.#connects - 1);
  }

  /** Milliseconds since the last connect, or 0 when not connected (`live` false). */
  connectedMs(live: boolean): number {
    return live ? Date.now() - this.#connectedAt : 0;
  }
}

/** What the figures of a client with one server are made of. */
export interface StatsSources {
  /** The state the client shows. */
  readonly state: ClientState;
  /** The connects so far. */
  readonly connects: ConnectTally;
  /** What the connections that have ended counted. */
  readonly ended: Readonly<ConnectionCounters>;
  /** The current connection, hello or not. */
  readonly conn: Connection | undefined;
  /** The transport, when not a stream socket. */
  readonly transport: ClientTransport | undefined;
  /** True while the client is connected (a ready connection, or a connected transport). */
  readonly live: boolean;
  /** The offline queue and the messages waiting for their acknowledgement. */
  readonly outbox: Outbox;
}

/** The `stats()` of a client with one server. */
export function clientStats(from: StatsSources): ClientStats {
  const { conn, transport } = from;
  const totals = newCounters();
  addCounters(totals, from.ended);
  if (conn !== undefined) addCounters(totals, conn.counters);
  if (transport !== undefined) addCounters(totals, transport.counters);
  return {
    ...totals,
    state: from.state,
    reconnects: from.connects.reconnects,
    queued: from.outbox.queued,
    unacknowledged: from.outbox.unacked,
    pendingRequests: transport?.pendingRequests ?? conn?.pendingRequests ?? 0,
    bufferedBytes: conn?.writableLength ?? 0,
    connectedMs: from.connects.connectedMs(from.live),
  };
}

/** The `stats()` of a client with several servers: its children's summed (`connectedMs`: the longest), with its `state`. */
export function sumStats(state: ClientState, all: readonly ClientStats[]): ClientStats {
  const totals = newCounters();
  for (const s of all) addCounters(totals, s);
  const sum = (f: (s: ClientStats) => number): number => all.reduce((n, s) => n + f(s), 0);
  return {
    ...totals,
    state,
    reconnects: sum((s) => s.reconnects),
    queued: sum((s) => s.queued),
    unacknowledged: sum((s) => s.unacknowledged),
    pendingRequests: sum((s) => s.pendingRequests),
    bufferedBytes: sum((s) => s.bufferedBytes),
    connectedMs: Math.max(0, ...all.map((s) => s.connectedMs)),
  };
}
