/**
 * What a {@link Connection} and its owner say to each other: the settings it
 * is made with, the callbacks it reports to, the metadata of each received
 * value, and {@link NO_HANDLER}. The links of the other transports (UDP,
 * NATS) use the same shapes, so they import them from here rather than from
 * the connection.
 *
 * @module
 */
import type { Connection } from './connection.js';
import type { ResolvedCommon } from './options.js';
import type { DisconnectInfo, Protocol } from './types.js';

/** Returned by {@link ConnectionHost.onRequest} when no handler is installed. */
export const NO_HANDLER: unique symbol = Symbol('no handler');

/** What comes with each received value. */
export interface ReceiveMeta {
  /** The sender's type name of the value (`''` for plain values). */
  readonly type: string;
  /** Whether `type` is registered here (so the value is a real instance). */
  readonly known: boolean;
  /** Type names inside the value that are not registered here. */
  readonly unknownTypes: readonly string[];
  /** The framing of the connection it came on. */
  readonly protocol: Protocol;
}

/** The owner of a connection: a Session or a Client. */
export interface ConnectionHost {
  /** The handshake is done (or the framing detected); the connection can send. */
  onReady(conn: Connection): void;
  /**
   * A message arrived; `seq` is non-zero when the sender asked for an ACK
   * (sent once this returns); `reply`, when given, is how to answer it (a
   * sockhop remote callback).
   */
  onMessage(conn: Connection, value: unknown, meta: ReceiveMeta, seq: number, reply?: (value: unknown) => Promise<void>): void;
  /** The peer acknowledged the MESSAGE with this id. */
  onAck?(conn: Connection, seq: number): void;
  /** A request arrived: return the reply (or a promise of it), or {@link NO_HANDLER}. */
  onRequest(conn: Connection, value: unknown, meta: ReceiveMeta, signal: AbortSignal): unknown;
  /** The connection ended; called exactly once. */
  onClose(conn: Connection, info: DisconnectInfo): void;
  /** A listener of the owner threw; the owner decides where that goes. */
  onListenerError(conn: Connection, err: unknown): void;
}

/** Connection settings beyond the common options. */
export interface ConnectionSettings extends ResolvedCommon {
  /** Which side of the hello this connection is. */
  readonly role: 'client' | 'server';
  /** Framing: a server may detect it from the first byte. */
  readonly framing: Protocol | 'auto';
  /** Server side, `'auto'` framing: silence for this long means a lines peer. */
  readonly detectTimeout: number;
  /** Server side: refuse lines peers. */
  readonly refuseLines?: boolean;
  /** Client side: the identity announced in the hello. */
  readonly identity?: string;
}
