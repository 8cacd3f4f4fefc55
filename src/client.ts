/**
 * The client: a small state machine around one {@link Connection} at a time,
 * with auto-reconnect and a `messages()` iterator.
 *
 * The client owns the state and the API; the other jobs are collaborators
 * in files of their own: `dialer.ts` connects and reconnects the socket,
 * `client-pool.ts` holds the child clients of the `servers` option,
 * `outbox.ts` the offline queue, `client-context.ts` builds the contexts of
 * what arrives, `client-stats.ts` assembles `stats()`, and a transport
 * (`transport.ts`) replaces the socket for UDP and NATS.
 *
 * ```
 * idle ──connect()──▶ connecting ──hello──▶ connected ──drop──▶ reconnecting ─┐
 *                         │                    ▲                             │
 *                         └─fail: reject       └──────────hello──────────────┘
 *                  any state ──close()──▶ closed
 * ```
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ClientPool, type ClientPoolHost } from './client-pool.js';
import { ConnectTally, clientStats } from './client-stats.js';
import { ConnectionReply, messageContext, requestContext } from './client-context.js';
import type { ClientEvents, ClientMessageContext, ClientRequestContext, ClientState, ReceivedMessage } from './client-types.js';
import type { ConnectionSettings, ReceiveMeta } from './connection-types.js';
import { Dialer, type DialerHost } from './dialer.js';
import { debug } from './debug.js';
import { ErrorCode, HopwireError, clientClosedError, toError } from './errors.js';
import { MessageIterator } from './message-iterator.js';
import { type ClientOptions, type ResolvedClientOptions, resolveClientOptions } from './options.js';
import { DEFAULTS } from './options.js';
import { Outbox } from './outbox.js';
import { type Remote, type RouteKey, Router, createProxy } from './router.js';
import type { ClientStats } from './stats.js';
import type { ClientTransport, ClientTransportHost } from './transport.js';
import { type TransportName, createClientTransport } from './transports.js';
import type { PayloadFormat, RequestHandler, RequestOptions, SendOptions } from './types.js';

/**
 * A hopwire client.
 *
 * @example
 * ```ts
 * const client = new Client({ port, types: [Widget] });
 * await client.connect();
 * await client.send(new Widget('bolt', 2));
 * const reply = await client.request({ op: 'sum' }, { timeout: 2000 });
 * await client.close();
 * ```
 */
export class Client extends EventEmitter<ClientEvents> {
  /** The resolved options. */
  readonly options: ResolvedClientOptions;
  readonly #settings: ConnectionSettings;
  readonly #iterators = new Set<MessageIterator<ReceivedMessage>>();
  readonly #dialer: Dialer;
  readonly #outbox: Outbox;
  #state: ClientState = 'idle';
  #router: Router<ClientMessageContext, ClientRequestContext>;
  /** With the `servers` option: one child client per server. */
  readonly #pool: ClientPool | undefined;
  /** With `transport: 'udp'` or `nats`: what carries the messages instead of a socket. */
  readonly #transport: ClientTransport | undefined;
  /** With a transport: its `connect()` in progress. */
  #connecting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  readonly #connects = new ConnectTally();
  /** The reply function of the last connection a message came on. */
  readonly #reply = new ConnectionReply();

  /**
   * @param options - where the server is and how to talk; see {@link ClientOptions}
   * @throws HopwireError `ERR_INVALID_OPTION` for a bad option
   */
  constructor(options: ClientOptions) {
    super();
    this.options = resolveClientOptions(options);
    this.#settings = Object.freeze({
      ...this.options,
      role: 'client',
      framing: this.options.protocol,
      detectTimeout: 0,
      identity: randomUUID(),
    });
    this.#outbox = new Outbox({
      codec: this.options.codec,
      protocol: this.options.protocol,
      sendTerminator: this.options.sendTerminator,
      envelope: this.options.envelope,
      requestTimeout: this.options.requestTimeout,
      queue: this.options.queue,
      unacked: this.options.queue === false ? DEFAULTS.queue : this.options.queue,
    });
    this.#router = new Router(this.options.codec);
    this.#pool = this.options.servers.length === 0 ? undefined : new ClientPool(this.#poolHost(), options, this.options);
    this.#transport = this.options.transport === 'stream' ? undefined : this.#createTransport(this.options.transport);
    this.#dialer = new Dialer(this.#dialerHost(), this.#settings, this.options, this.#outbox);
  }

  /** Where the client is in its life. */
  get state(): ClientState {
    const transport = this.#transport;
    if (transport !== undefined && this.#state === 'connected' && !transport.connected) return transport.stopped === true ? 'disconnected' : 'reconnecting';
    return this.#pool === undefined ? this.#state : this.#pool.state(this.#state);
  }

  /**
   * The payload format of the current connection: `'msgpack'` when both
   * sides asked for `codec: 'msgpack'` in the hello, `'json'` otherwise and
   * while not connected. With `servers`: that of the first connected server.
   */
  get payloadFormat(): PayloadFormat {
    const pool = this.#pool;
    if (pool !== undefined) return pool.members.find((m) => m.connected)?.payloadFormat ?? 'json';
    return this.#dialer.established?.payloadFormat ?? 'json';
  }

  /** True while connected (with `servers`: to at least one). */
  get connected(): boolean {
    return this.state === 'connected';
  }

  /** Requests waiting for a reply on the current connection. */
  get pendingRequests(): number {
    if (this.#pool !== undefined) return this.stats().pendingRequests;
    return this.#transport?.pendingRequests ?? this.#dialer.conn?.pendingRequests ?? 0;
  }

  /**
   * Connects and completes the hello.
   *
   * @throws the connection error when no server answers (unless
   * `reconnect.retryFirstConnect` is set, in which case it keeps trying),
   * `ERR_CLOSED` after `close()`
   */
  connect(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new HopwireError(ErrorCode.CLOSED, 'the client was closed'));
    if (this.#pool !== undefined) return this.#pool.connect();
    if (this.#state === 'connected' && this.#transport?.stopped !== true) return Promise.resolve();
    if (this.#transport !== undefined) return this.#connecting ?? this.#connectTransport(this.#transport);
    return this.#dialer.connect();
  }

  /**
   * Installs the handler for requests the server sends to this client; with
   * a class (or type name) first, only for requests of that type (see
   * `Server.handle`).
   */
  handle(handler: RequestHandler<ClientRequestContext> | undefined): this;
  handle<T extends object>(type: RouteKey<T>, handler: ((request: T, ctx: ClientRequestContext) => unknown) | undefined): this;
  handle(a: unknown, b?: unknown): this {
    if (arguments.length >= 2) this.#router.setHandler(a as RouteKey, b as RequestHandler<ClientRequestContext> | undefined);
    else this.#router.setCatchAll(a as RequestHandler<ClientRequestContext> | undefined);
    return this;
  }

  /** Listens to messages of one type, typed as the class; returns a function that removes the listener. */
  onMessage<T extends object>(type: RouteKey<T>, listener: (message: T, ctx: ClientMessageContext) => void): () => void {
    return this.#router.addListener(type, listener as (message: unknown, ctx: ClientMessageContext) => void);
  }

  /** Serves the own methods of `api` to `session.proxy()` calls from the server. */
  expose(api: object | undefined): this {
    this.#router.expose(api);
    return this;
  }

  /**
   * A proxy that calls the methods the server exposes (`server.expose(api)`):
   * `await api.add(1, 2)`. Each call is a request (queued while
   * reconnecting, like `request()`); `options` apply to every call.
   */
  proxy<T>(options?: RequestOptions): Remote<T> {
    return createProxy<T>(
      this.options.codec,
      (call, opts) => {
        if (this.#state === 'closed') return Promise.reject(clientClosedError());
        if (this.#transport !== undefined) return this.#transport.requestEncoded(call, opts);
        if (this.#pool !== undefined) {
          const member = this.#pool.pick();
          return member === undefined ? Promise.reject(poolDown()) : member.#outbox.request(undefined, opts, member.#dialer.live, member.#canQueue(), call);
        }
        return this.#outbox.request(undefined, opts, this.#dialer.live, this.#canQueue(), call);
      },
      options,
    );
  }

  /**
   * Sends a message; resolves when its bytes are handed to the OS. While the
   * client is (re)connecting, the message waits in the offline queue and is
   * sent, in order, right after the next hello.
   *
   * With `{ ack: true }` it resolves only once the server's message
   * listeners have been called with it, and it is resent after a reconnect
   * until then (see `docs/delivery.md`).
   *
   * @throws `ERR_NOT_CONNECTED` when not connected and not reconnecting (or
   * the queue is off), `ERR_QUEUE_FULL` when the queue is full, `ERR_CLOSED`
   * after `close()`, `ERR_ENCODE` for a value that cannot be sent,
   * `ERR_BUFFER_FULL` when the server reads too slowly
   */
  send(value: unknown, options: SendOptions = {}): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(clientClosedError());
    if (this.#transport !== undefined) return this.#transport.send(value, options);
    if (this.#pool !== undefined) return this.#pool.pick()?.send(value, options) ?? Promise.reject(poolDown());
    return this.#outbox.send(value, options.ack === true, this.#dialer.live, this.#canQueue());
  }

  /**
   * Sends a request and resolves with the reply. While the client is
   * (re)connecting, the request waits in the offline queue; its timeout keeps
   * running.
   *
   * @throws `ERR_REQUEST_TIMEOUT`, an `AbortError`, `ERR_REMOTE`,
   * `ERR_NO_HANDLER`, `ERR_NOT_CONNECTED`, `ERR_QUEUE_FULL` or `ERR_CLOSED`;
   * it never hangs
   */
  request(value: unknown, options: RequestOptions = {}): Promise<unknown> {
    if (this.#state === 'closed') return Promise.reject(clientClosedError());
    if (this.#transport !== undefined) return this.#transport.request(value, options);
    if (this.#pool !== undefined) return this.#pool.pick()?.request(value, options) ?? Promise.reject(poolDown());
    return this.#outbox.request(value, options, this.#dialer.live, this.#canQueue());
  }

  /** The client's figures: counters over all its connections, reconnects, queues. */
  stats(): ClientStats {
    if (this.#pool !== undefined) return this.#pool.stats(this.state);
    const transport = this.#transport;
    return clientStats({
      state: this.state,
      connects: this.#connects,
      ended: this.#dialer.ended,
      conn: this.#dialer.conn,
      transport,
      live: transport === undefined ? this.#dialer.live !== undefined : transport.connected,
      outbox: this.#outbox,
    });
  }

  /**
   * Stops serving a function this client sent to the server inside a value
   * (functions sent inside a request are released when it settles; others
   * when the connection closes, or here). Later calls get `ERR_RELEASED`.
   */
  release(fn: (...args: never[]) => unknown): boolean {
    const f = fn as (...args: unknown[]) => unknown;
    if (this.#pool !== undefined) return this.#pool.members.map((m) => m.release(f)).some(Boolean);
    return this.#transport?.release(f) ?? this.#dialer.conn?.release(f) ?? false;
  }

  /**
   * Sends a request whose handler may answer with a stream (an async
   * iterable or generator, on hopwire servers; a sockhop 1.8 request stream
   * with `envelope: 'sockhop'`), and yields each item as it arrives. Needs a
   * connection (it is not queued). The timeout covers the whole stream.
   *
   * @example
   * ```ts
   * for await (const row of client.requestStream({ query: 'all' })) console.log(row);
   * ```
   */
  requestStream(value: unknown, options: RequestOptions = {}): AsyncIterableIterator<unknown> {
    const transport = this.#transport;
    if (transport?.requestStream !== undefined && this.#state !== 'closed') return transport.requestStream(value, options);
    if (transport !== undefined && this.#state !== 'closed') return failedIterator(new HopwireError(ErrorCode.UNSUPPORTED, `requestStream() is not available over ${this.options.transport}`));
    const member = this.#pool === undefined ? this : this.#pool.pick();
    const conn = member === undefined ? undefined : member.#dialer.live;
    if (this.#state !== 'closed' && conn !== undefined) return conn.requestStream(value, options);
    return failedIterator(this.#state === 'closed' ? clientClosedError() : new HopwireError(ErrorCode.NOT_CONNECTED, 'not connected'));
  }

  /** Messages and requests waiting in the offline queue. */
  get queued(): number {
    return this.#pool === undefined ? this.#outbox.queued : this.stats().queued;
  }

  /** Messages sent with `{ ack: true }` still waiting for their acknowledgement. */
  get unacknowledged(): number {
    return this.#pool === undefined ? this.#outbox.unacked : this.stats().unacknowledged;
  }

  /**
   * Iterates over received messages. Ends when the client closes; fails with
   * `ERR_QUEUE_FULL` if the loop falls more than `maxIteratorBuffer` behind.
   *
   * @example
   * ```ts
   * for await (const { message, type } of client.messages()) console.log(type, message);
   * ```
   */
  messages(): AsyncIterableIterator<ReceivedMessage> {
    const it: MessageIterator<ReceivedMessage> = new MessageIterator(this.options.maxIteratorBuffer, () => {
      this.#iterators.delete(it);
    });
    if (this.#state === 'closed') it.end();
    else this.#iterators.add(it);
    return it;
  }

  /** Closes the connection, stops reconnecting, ends iterators. Resolves when all is stopped. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#state = 'closed';
    if (this.#pool !== undefined) await Promise.all(this.#pool.members.map((m) => m.close()));
    await this.#transport?.close();
    const closing = this.#dialer.close(clientClosedError);
    if (closing !== undefined) await closing;
    for (const it of [...this.#iterators]) it.end();
    debug('client closed');
    this.emit('close');
  }

  /** Emits `'error'` when someone listens (an unheard `'error'` would throw), as `Server` does. */
  readonly #emitError = (err: Error): void => {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  };

  /** The transport for `transport: 'udp'` or `nats`. */
  #createTransport(transport: TransportName): ClientTransport {
    const host: ClientTransportHost = {
      settings: this.#settings,
      options: this.options,
      onConnect: (server) => {
        this.#state = 'connected';
        this.#connects.connected();
        this.emit('connect', server ?? this.options.endpoint);
      },
      onDisconnect: (info, server) => {
        if (this.#state !== 'closed') this.emit('disconnect', info, server ?? this.options.endpoint);
      },
      onReconnecting: (attempt, delay, server) => {
        if (this.#state !== 'closed') this.emit('reconnecting', { attempt, delay }, server ?? this.options.endpoint);
      },
      onMessage: (value, meta, reply) => {
        this.#onMessage(value, meta, reply);
      },
      onRequest: (value, meta, signal) => this.#onRequest(value, meta, signal),
      emitError: this.#emitError,
    };
    return createClientTransport(transport, host);
  }

  #connectTransport(transport: ClientTransport): Promise<void> {
    this.#state = 'connecting';
    this.#connecting = transport
      .connect()
      .then(
        () => {
          if (this.#state === 'closed') throw clientClosedError();
          this.#state = 'connected';
        },
        (err: unknown) => {
          if (this.#state !== 'closed') this.#state = 'idle';
          throw toError(err);
        },
      )
      .finally(() => {
        this.#connecting = undefined;
      });
    return this.#connecting;
  }

  /**
   * Sends may wait in the queue while a connection is on its way — including
   * the moment between a connection starting to close and the client
   * noticing (requests on it already rejected), when a reconnect will follow.
   */
  #canQueue(): boolean {
    if (this.#state === 'connecting' || this.#state === 'reconnecting') return true;
    return this.#state === 'connected' && this.#dialer.reconnects && this.#dialer.live === undefined;
  }

  /** The parent's side of a {@link ClientPool}: its state, its children made with its routes, its iterators. */
  #poolHost(): ClientPoolHost {
    return {
      client: this,
      setState: (state) => {
        this.#state = state;
      },
      child: (options) => {
        const child = new Client(options);
        child.#router = this.#router;
        return child;
      },
      connected: (m) => m.#dialer.live !== undefined && m.#state !== 'closed',
      waiting: (m) => m.#canQueue(),
      deliver: (value, ctx) => {
        this.#deliver(value, ctx);
      },
    };
  }

  /** The client's side of its {@link Dialer}: the state it moves along, and the events it reports. */
  #dialerHost(): DialerHost {
    return {
      state: () => this.#state,
      setState: (state) => {
        this.#state = state;
      },
      onMessage: (_conn, value, meta, _seq, reply) => {
        this.#onMessage(value, meta, reply);
      },
      onRequest: (_conn, value, meta, signal) => this.#onRequest(value, meta, signal),
      onHello: () => {
        this.#connects.connected(); // connectedMs counts from the hello, before the queue is flushed
      },
      onConnect: () => {
        this.emit('connect', this.options.endpoint);
      },
      onDisconnect: (info) => {
        this.emit('disconnect', info, this.options.endpoint);
      },
      onReconnecting: (info) => {
        this.emit('reconnecting', info, this.options.endpoint);
      },
      emitError: this.#emitError,
    };
  }

  #onMessage(value: unknown, meta: ReceiveMeta, reply?: (value: unknown) => Promise<void>): void {
    const ctx = messageContext(meta, this, reply ?? this.#reply.on(this.#dialer.conn));
    this.#deliver(value, ctx);
    this.#router.dispatchMessage(value, meta, ctx);
  }

  /** A message for the iterators and the `message` event. */
  #deliver(value: unknown, ctx: ClientMessageContext): void {
    for (const it of this.#iterators) it.push({ message: value, type: ctx.type, ctx });
    this.emit('message', value, ctx);
  }

  #onRequest(value: unknown, meta: ReceiveMeta, signal: AbortSignal): unknown {
    return this.#router.dispatchRequest(value, meta, requestContext(meta, this, signal));
  }
}

function failedIterator(err: Error): AsyncIterableIterator<unknown> {
  const it = new MessageIterator<unknown>(1, () => undefined);
  it.fail(err);
  return it;
}

function poolDown(): HopwireError {
  return new HopwireError(ErrorCode.NOT_CONNECTED, 'no server is connected or reconnecting');
}
