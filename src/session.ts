/**
 * The server side of one connection.
 *
 * @module
 */
import type { Socket } from 'node:net';
import type { Codec } from './codec.js';
import { Connection } from './connection.js';
import type { ConnectionSettings, ReceiveMeta } from './connection-types.js';
import type { SessionStats } from './stats.js';
import { type Remote, createProxy } from './router.js';
import type { LinkFactory } from './transport.js';
import type { DisconnectInfo, MessageContext, PayloadFormat, Protocol, RequestContext, RequestOptions } from './types.js';

/**
 * What a {@link Session} runs on: a stream {@link Connection}, or a link of a
 * datagram or broker transport (see `transport.ts`). Internal.
 */
export type SessionLink = Pick<
  Connection,
  | 'protocol'
  | 'ready'
  | 'closed'
  | 'disconnectInfo'
  | 'remoteAddress'
  | 'remotePort'
  | 'peerHello'
  | 'writableLength'
  | 'writeRefusal'
  | 'pendingRequests'
  | 'counters'
  | 'lastActivity'
  | 'send'
  | 'encodeMessage'
  | 'sendEncoded'
  | 'request'
  | 'requestEncoded'
  | 'requestStream'
  | 'release'
  | 'heldFunctions'
  | 'close'
  | 'destroy'
> &
  Partial<Pick<Connection, 'payloadFormat' | 'sendShared'>>;

/** What a {@link Session} reports to its server. Internal. */
export interface SessionOwner {
  onReady(session: Session): void;
  onMessage(session: Session, value: unknown, meta: ReceiveMeta, seq: number, reply?: (value: unknown) => Promise<void>): void;
  onRequest(session: Session, value: unknown, meta: ReceiveMeta, signal: AbortSignal): unknown;
  onClose(session: Session, info: DisconnectInfo): void;
  onListenerError(err: unknown): void;
}

/** The context of a message a server receives. */
export interface ServerMessageContext extends MessageContext {
  /** The session it came from. */
  readonly session: Session;
}

/** The context of a request a server answers. */
export interface ServerRequestContext extends RequestContext {
  /** The session it came from. */
  readonly session: Session;
}

let nextId = 1;

/**
 * One connected peer, as the server sees it. Get them from the server's
 * `connect` event or `server.sessions`.
 *
 * @example
 * ```ts
 * server.on('connect', async (session) => {
 *   await session.send({ welcome: session.id });
 *   const answer = await session.request({ op: 'whoami' }, { timeout: 1000 });
 * });
 * ```
 */
export class Session {
  /** A number unique within this process. */
  readonly id: number = nextId++;
  /** When the socket was accepted (ms since the epoch). */
  readonly connectedAt: number = Date.now();
  readonly #conn: SessionLink;
  readonly #codec: Codec;

  /**
   * @param source - an accepted socket, or a transport's link factory
   * @internal
   */
  constructor(source: Socket | LinkFactory, settings: ConnectionSettings, owner: SessionOwner) {
    this.#codec = settings.codec;
    if (typeof source === 'function') {
      this.#conn = source({
        onReady: () => {
          owner.onReady(this);
        },
        onMessage: (value, meta, seq, reply) => {
          owner.onMessage(this, value, meta, seq, reply);
        },
        onRequest: (value, meta, signal) => owner.onRequest(this, value, meta, signal),
        onClose: (info) => {
          owner.onClose(this, info);
        },
        onListenerError: (err) => {
          owner.onListenerError(err);
        },
      });
      return;
    }
    this.#conn = new Connection(source, settings, {
      onReady: () => {
        owner.onReady(this);
      },
      onMessage: (_conn, value, meta, seq, reply) => {
        owner.onMessage(this, value, meta, seq, reply);
      },
      onRequest: (_conn, value, meta, signal) => owner.onRequest(this, value, meta, signal),
      onClose: (_conn, info) => {
        owner.onClose(this, info);
      },
      onListenerError: (_conn, err) => {
        owner.onListenerError(err);
      },
    });
  }

  /** `'binary'` for hopwire peers, `'lines'` for JSON-lines peers; `undefined` until known. */
  get protocol(): Protocol | undefined {
    return this.#conn.protocol;
  }

  /**
   * The payload format of this session's frames: `'msgpack'` when both sides
   * asked for `codec: 'msgpack'`, `'json'` otherwise (and for JSON-lines and
   * UDP peers).
   */
  get payloadFormat(): PayloadFormat {
    return this.#conn.payloadFormat ?? 'json';
  }

  /** True while the session can send. */
  get ready(): boolean {
    return this.#conn.ready;
  }

  /** True once the connection has ended. */
  get closed(): boolean {
    return this.#conn.closed;
  }

  /** The peer's IP address (TCP, UDP), its inbox subject (NATS), `undefined` on Unix sockets. */
  get remoteAddress(): string | undefined {
    return this.#conn.remoteAddress;
  }

  /** The peer's port (TCP, UDP); `undefined` on Unix sockets and NATS. */
  get remotePort(): number | undefined {
    return this.#conn.remotePort;
  }

  /** The client's identity from its hello (stable across its reconnects), if it sent one. */
  get clientId(): string | undefined {
    return this.#conn.peerHello?.id;
  }

  /** Bytes waiting in this session's write buffer. */
  get bufferedBytes(): number {
    return this.#conn.writableLength;
  }

  /** Broadcast messages skipped for this session by the `'drop'` slow-consumer policy. */
  droppedMessages = 0;

  /** @internal set while a broadcast write to this session is slower than `slowConsumer.lag` */
  lagging = false;

  /** Requests sent to this peer still waiting for a reply. */
  get pendingRequests(): number {
    return this.#conn.pendingRequests;
  }

  /** Why the session ended, once it has. */
  get disconnectInfo(): DisconnectInfo | undefined {
    return this.#conn.disconnectInfo;
  }

  /** This session's figures: counters, peer, age, activity. */
  stats(): SessionStats {
    const conn = this.#conn;
    const now = Date.now();
    return {
      ...conn.counters,
      id: this.id,
      peer: conn.remoteAddress === undefined ? 'unix' : conn.remotePort === undefined ? conn.remoteAddress : `${conn.remoteAddress}:${String(conn.remotePort)}`,
      protocol: conn.protocol,
      clientId: this.clientId,
      ageMs: now - this.connectedAt,
      idleMs: now - conn.lastActivity,
      pendingRequests: conn.pendingRequests,
      bufferedBytes: conn.writableLength,
      droppedMessages: this.droppedMessages,
    };
  }

  /** `ctx.reply` of this session's messages: one function per session, not one per message. @internal */
  readonly replyToSender = (value: unknown): Promise<void> => this.send(value);

  /** Sends a message to this peer; resolves when handed to the OS. */
  send(value: unknown): Promise<void> {
    return this.#conn.send(value);
  }

  /**
   * Sends a request whose handler may answer with a stream (an async
   * iterable or generator); yields each item as it arrives.
   */
  requestStream(value: unknown, options?: RequestOptions): AsyncIterableIterator<unknown> {
    return this.#conn.requestStream(value, options);
  }

  /** Sends a request to this peer (it needs a handler: `client.handle(fn)`). */
  request(value: unknown, options?: RequestOptions): Promise<unknown> {
    return this.#conn.request(value, options);
  }

  /**
   * A proxy that calls the methods this client exposes (`client.expose(api)`).
   * Each call is a request; `options` (timeout, signal) apply to every call.
   */
  proxy<T>(options?: RequestOptions): Remote<T> {
    return createProxy<T>(this.#codec, (call, opts) => this.#conn.requestEncoded(call, opts), options);
  }

  /**
   * Stops serving a function this side sent to the peer inside a value
   * (functions sent inside a request are released when it settles; others
   * when the session closes, or here). Later calls from the peer get
   * `ERR_RELEASED`.
   */
  release(fn: (...args: never[]) => unknown): boolean {
    return this.#conn.release(fn as (...args: unknown[]) => unknown);
  }

  /** Closes this session gracefully; resolves once it is closed. */
  close(): Promise<void> {
    return this.#conn.close('the server closed this session');
  }

  /** @internal */
  get connection(): SessionLink {
    return this.#conn;
  }
}
