/**
 * The seam between the {@link Server}/{@link Client} API and what carries
 * their frames. Stream sockets (TCP, TLS, Unix) are built in; datagram and
 * broker transports plug in here, so routing, events, iterators, stats and
 * the codec stay one implementation whatever the wire.
 *
 * A server transport makes one {@link Session} per peer it hears from, on a
 * {@link SessionLink} of its own; a client transport replaces the client's
 * socket, reconnect and offline queue (a broker's client does those itself).
 *
 * Internal: not exported from the package.
 *
 * @module
 */
import type { ConnectionSettings, ReceiveMeta } from './connection-types.js';
import type { Session, SessionLink } from './session.js';
import type { Endpoint, ResolvedClientOptions, ResolvedServerOptions } from './options.js';
import type { ConnectionCounters } from './stats.js';
import type { DisconnectInfo, ListenAddress, RequestOptions, SendOptions } from './types.js';
import type { EncodedValue } from './codec.js';

/** What a {@link SessionLink} reports to the session it carries. */
export interface LinkHost {
  /** The link can send (a hello finished, or at once for links without one). */
  onReady(): void;
  /**
   * A message arrived; `seq` is non-zero when the sender asked for an ACK;
   * `reply`, when given, is how to answer it.
   */
  onMessage(value: unknown, meta: ReceiveMeta, seq: number, reply?: (value: unknown) => Promise<void>): void;
  /** A request arrived: return the reply (or a promise of it), or `NO_HANDLER`. */
  onRequest(value: unknown, meta: ReceiveMeta, signal: AbortSignal): unknown;
  /** The link ended; called exactly once. */
  onClose(info: DisconnectInfo): void;
  /** A listener threw; the server decides where that goes. */
  onListenerError(err: unknown): void;
}

/** Makes a link for a session, given the session's side of the callbacks. */
export type LinkFactory = (host: LinkHost) => SessionLink;

/** What a {@link ServerTransport} gets from its server. */
export interface ServerTransportHost {
  /** The server's resolved settings (codec, limits, options). */
  readonly settings: ConnectionSettings;
  /** The server's resolved options (endpoint, transport options). */
  readonly options: ResolvedServerOptions;
  /** What arrived that no session took (dropped datagrams): the transport counts it here. */
  readonly counters: ConnectionCounters;
  /** Counts a peer turned away (over `maxConnections`) in `connectionsRefused`. */
  refuse(): void;
  /**
   * Makes a session for a new peer and tracks it like any other (`connect`
   * and `disconnect` events, `sessions`, `stats()`, `sendAll()`); the session
   * is ready once its link calls `onReady`.
   */
  adopt(link: LinkFactory): Session;
  /** Reports an error no promise reports (the server's `error` event). */
  emitError(err: Error): void;
}

/** A non-stream transport of a {@link Server}. */
export interface ServerTransport {
  /** Starts receiving; resolves with the address to give clients. */
  listen(): Promise<ListenAddress>;
  /**
   * Sends one message to every peer, when the transport has a better way
   * than writing to each session (a broker subject). Without it the server
   * writes the encoded message to each ready session's link.
   */
  sendAll?(value: unknown, sessions: readonly Session[]): Promise<number>;
  /** Stops receiving and frees everything; the server has already closed the sessions. */
  close(): Promise<void>;
}

/** What a {@link ClientTransport} reports to its client. */
export interface ClientTransportHost {
  /** The client's resolved settings (codec, limits, options). */
  readonly settings: ConnectionSettings;
  /** The client's resolved options (endpoint, transport options). */
  readonly options: ResolvedClientOptions;
  /** Connected (the first time and after each reconnect); `server` when not the `port`/`host` option. */
  onConnect(server?: Endpoint): void;
  /** The connection was lost (the transport may be reconnecting). */
  onDisconnect(info: DisconnectInfo, server?: Endpoint): void;
  /** A reconnect attempt starts after `delay` ms (transports that reconnect by themselves). */
  onReconnecting(attempt: number, delay: number, server?: Endpoint): void;
  /** A message arrived; `reply`, when given, answers its sender. */
  onMessage(value: unknown, meta: ReceiveMeta, reply?: (value: unknown) => Promise<void>): void;
  /** A request arrived: return the reply (or a promise of it), or `NO_HANDLER`. */
  onRequest(value: unknown, meta: ReceiveMeta, signal: AbortSignal): unknown;
  /** Reports an error no promise reports (the client's `error` event). */
  emitError(err: Error): void;
}

/** A non-stream transport of a {@link Client}. */
export interface ClientTransport {
  /** True while the client can send. */
  readonly connected: boolean;
  /** True once the transport gave up reconnecting for good (the client is then `disconnected`). */
  readonly stopped?: boolean;
  /** Requests waiting for a reply. */
  readonly pendingRequests: number;
  /** Messages, bytes and requests so far, both ways. */
  readonly counters: Readonly<ConnectionCounters>;
  /** Connects; resolves when the client can send. */
  connect(): Promise<void>;
  /** Sends one message. */
  send(value: unknown, options: SendOptions): Promise<void>;
  /** Sends a request and resolves with the reply. */
  request(value: unknown, options: RequestOptions): Promise<unknown>;
  /** Sends an already encoded request (proxies), and resolves with the reply. */
  requestEncoded(encoded: EncodedValue, options: RequestOptions): Promise<unknown>;
  /** Streams a reply, when the transport can; otherwise absent. */
  requestStream?(value: unknown, options: RequestOptions): AsyncIterableIterator<unknown>;
  /** Stops serving a function sent inside a value. */
  release(fn: (...args: unknown[]) => unknown): boolean;
  /** Closes; resolves when nothing is left running. */
  close(): Promise<void>;
}
