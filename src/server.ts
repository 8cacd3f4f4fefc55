/**
 * The server: listens on TCP or a Unix socket, keeps a {@link Session} per
 * peer, answers requests and broadcasts.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { chmod } from 'node:fs/promises';
import { type BlockList, type Server as NetServer, type Socket, createServer, isIPv4 } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { ConnectionSettings, ReceiveMeta } from './connection-types.js';
import { debug } from './debug.js';
import { DedupStore } from './dedup-store.js';
import { type BroadcastFrame, Broadcaster } from './broadcast.js';
import { ErrorCode, HopwireError, rethrow, toError } from './errors.js';
import { type ResolvedServerOptions, type ServerOptions, resolveServerOptions } from './options.js';
import { type ServerMessageContext, type ServerRequestContext, Session, type SessionOwner } from './session.js';
import type { DisconnectInfo, ListenAddress, RequestHandler } from './types.js';
import { clearStaleSocket } from './unix-socket.js';
import { MetricsServer } from './metrics-server.js';
import { type RouteKey, Router } from './router.js';
import type { LinkFactory, ServerTransport, ServerTransportHost } from './transport.js';
import { type TransportName, createServerTransport } from './transports.js';
import { type ServerStats, addCounters, newCounters, newDisconnects, prometheusText } from './stats.js';

/** The events of a {@link Server}, with their listener arguments. */
export interface ServerEvents {
  /** The server is listening. */
  listening: [address: ListenAddress];
  /** A peer finished its hello (or was detected as a JSON-lines peer; over UDP: sent its first valid datagram). */
  connect: [session: Session];
  /** A peer's connection ended. */
  disconnect: [session: Session, info: DisconnectInfo];
  /** A message arrived from a peer. */
  message: [message: unknown, ctx: ServerMessageContext];
  /** Something went wrong that no promise reports. Emitted only when someone listens. */
  error: [error: Error];
  /** The server has closed and every session is gone. */
  close: [];
}

type ServerState = 'idle' | 'listening' | 'closing' | 'closed';

/**
 * A hopwire server.
 *
 * @example
 * ```ts
 * const server = new Server({ port: 0, types: [Widget] });
 * server.on('message', (msg, ctx) => console.log(ctx.type, msg));
 * server.handle(async (req) => ({ ok: true }));
 * const { port } = await server.listen();
 * await server.sendAll(new Widget('nut', 1));
 * await server.close();
 * ```
 */
export class Server extends EventEmitter<ServerEvents> {
  /** The resolved options. */
  readonly options: ResolvedServerOptions;
  readonly #settings: ConnectionSettings;
  readonly #all = new Set<Session>();
  readonly #ready = new Set<Session>();
  readonly #owner: SessionOwner;
  readonly #dedup: DedupStore;
  readonly #broadcaster: Broadcaster;
  #net: NetServer | undefined;
  /** The datagram or broker transport, when not on a stream socket. */
  #transport: ServerTransport | undefined;
  #address: ListenAddress | undefined;
  readonly #router: Router<ServerMessageContext, ServerRequestContext>;
  #state: ServerState = 'idle';
  #closing: Promise<void> | undefined;
  /** The listen in flight or done. */
  #starting: Promise<ListenAddress> | undefined;
  /** Accepted TCP sockets, until they close (some may still be in a TLS handshake). */
  readonly #raw = new Set<Socket>();
  /** Counters of sessions that have ended. */
  readonly #ended = newCounters();
  readonly #disconnects = newDisconnects();
  /** What a transport received that no session took. */
  readonly #unclaimed = newCounters();
  #connectionsTotal = 0;
  #duplicatesDropped = 0;
  #droppedByEnded = 0;
  #listeningSince = 0;
  #metrics: MetricsServer | undefined;
  /** Where `/metrics` is served, when the `metrics` option is set and the server listens. */
  metricsAddress: { host: string; port: number } | undefined;

  /**
   * @param options - where to listen and how; see {@link ServerOptions}
   * @throws HopwireError `ERR_INVALID_OPTION` for a bad option
   */
  constructor(options: ServerOptions = {}) {
    super();
    this.options = resolveServerOptions(options);
    this.#settings = Object.freeze({
      ...this.options,
      role: 'server',
      framing: this.options.protocol === 'lines' ? 'lines' : this.options.protocol === 'binary' ? 'binary' : 'auto',
      refuseLines: this.options.protocol === 'binary' || (this.options.secret !== undefined && !this.options.allowLinesWithSecret),
    });
    this.#dedup = new DedupStore(this.options.dedup);
    this.#broadcaster = new Broadcaster(this.options.slowConsumer);
    this.#router = new Router(this.options.codec);
    this.#owner = {
      onReady: (session) => {
        this.#onSessionReady(session);
      },
      onMessage: (session, value, meta, seq, reply) => {
        this.#onSessionMessage(session, value, meta, seq, reply);
      },
      onRequest: (session, value, meta, signal) => this.#onSessionRequest(session, value, meta, signal),
      onClose: (session, info) => {
        this.#onSessionClose(session, info);
      },
      onListenerError: (err) => {
        rethrow(err);
      },
    };
  }

  /** The address listened on, once listening. */
  get address(): ListenAddress | undefined {
    return this.#address;
  }

  /** True while listening. */
  get listening(): boolean {
    return this.#state === 'listening';
  }

  /** The sessions that are ready (hello done). */
  get sessions(): Session[] {
    return [...this.#ready];
  }

  /**
   * Installs the request handler (replacing any earlier one). Its return
   * value is the reply; what it throws reaches the requester as `ERR_REMOTE`.
   *
   * With a class (or type name) first, the handler answers only requests of
   * that type, with the request typed as the class; the handler without a
   * type is the catch-all. A request nobody answers gets `ERR_NO_HANDLER`.
   *
   * @example
   * ```ts
   * server.handle(Order, async (order) => ({ receipt: order.total() }));   // order: Order
   * server.handle(async (other) => ({ ok: true }));                        // everything else
   * ```
   */
  handle(handler: RequestHandler<ServerRequestContext> | undefined): this;
  handle<T extends object>(type: RouteKey<T>, handler: ((request: T, ctx: ServerRequestContext) => unknown) | undefined): this;
  handle(a: unknown, b?: unknown): this {
    if (arguments.length >= 2) this.#router.setHandler(a as RouteKey, b as RequestHandler<ServerRequestContext> | undefined);
    else this.#router.setCatchAll(a as RequestHandler<ServerRequestContext> | undefined);
    return this;
  }

  /**
   * Listens to messages of one type (a class or type name), typed as the
   * class. The `message` event still sees every message.
   *
   * @returns a function that removes the listener
   */
  onMessage<T extends object>(type: RouteKey<T>, listener: (message: T, ctx: ServerMessageContext) => void): () => void {
    return this.#router.addListener(type, listener as (message: unknown, ctx: ServerMessageContext) => void);
  }

  /**
   * Serves the own methods of `api` to `client.proxy()` calls (`undefined`
   * stops). Only own function properties are callable; anything else
   * rejects with `ERR_NO_METHOD`.
   *
   * @example
   * ```ts
   * server.expose({ add: (a: number, b: number) => a + b });
   * const api = client.proxy<{ add(a: number, b: number): number }>();
   * await api.add(1, 2); // 3
   * ```
   */
  expose(api: object | undefined): this {
    this.#router.expose(api);
    return this;
  }

  /**
   * Starts listening.
   *
   * @returns the address: `{ host, port }` (the real port when 0 was asked)
   * or `{ path }`
   * @throws the listen error (`EADDRINUSE`, …), or `ERR_CLOSED` after `close()`
   */
  listen(): Promise<ListenAddress> {
    if (this.#state !== 'idle' && this.#state !== 'listening') return Promise.reject(new HopwireError(ErrorCode.CLOSED, 'the server was closed'));
    // One listen at a time: concurrent calls share it; close() waits for it.
    this.#starting ??= this.#listen().catch((err: unknown) => {
      this.#starting = undefined;
      throw err;
    });
    return this.#starting;
  }

  async #listen(): Promise<ListenAddress> {
    if (this.options.transport !== 'stream') return this.#listenOn(this.#createTransport(this.options.transport));
    const endpoint = this.options.endpoint;
    if ('path' in endpoint) await clearStaleSocket(endpoint.path);
    const tls = this.options.tls;
    const net: NetServer =
      tls === undefined
        ? createServer({ noDelay: true }, (socket) => {
            this.#accept(socket);
          })
        : createTlsServer({ handshakeTimeout: this.options.handshakeTimeout, ...tls, noDelay: true }, (socket) => {
            this.#accept(socket);
          });
    // Runs for every TCP connection, before any byte is read (and before the TLS handshake).
    net.prependListener('connection', (socket: Socket) => {
      this.#screen(socket);
    });
    // Node closes connections past this count at accept, and says so with 'drop'.
    net.maxConnections = this.options.maxConnections;
    net.on('drop', (data) => {
      this.refusedConnections++;
      debug('refused %s: maxConnections (%d) reached', data?.remoteAddress ?? '?', this.options.maxConnections);
    });
    if (tls !== undefined) {
      net.on('tlsClientError', (err: Error, socket: Socket) => {
        debug('TLS handshake with %s failed: %s', socket.remoteAddress ?? '?', err.message);
        const allow = this.options.allow;
        if (allow === undefined || isAllowed(allow, socket.remoteAddress)) this.refusedConnections++; // else counted at accept
        socket.destroy();
      });
    }
    await new Promise<void>((resolve, reject) => {
      net.once('error', reject);
      const done = (): void => {
        net.off('error', reject);
        resolve();
      };
      if ('path' in endpoint) net.listen({ path: endpoint.path }, done);
      else net.listen({ port: endpoint.port, host: endpoint.host }, done);
    });
    const abandon = async (err: unknown): Promise<never> => {
      await new Promise<void>((resolve) => net.close(() => { resolve(); }));
      throw err;
    };
    if (this.#state !== 'idle') await abandon(new HopwireError(ErrorCode.CLOSED, 'the server was closed while it started'));
    if ('path' in endpoint) {
      await chmod(endpoint.path, this.options.socketMode).catch(abandon);
      this.#address = Object.freeze({ path: endpoint.path });
    } else {
      const a = net.address();
      if (a === null || typeof a === 'string') throw new Error('listening TCP server has no address');
      this.#address = Object.freeze({ host: a.address, port: a.port });
    }
    // Errors after listening (listen errors reject listen() instead).
    net.on('error', (err) => {
      this.#emitError(err);
    });
    this.#net = net;
    return this.#listening();
  }

  /** The transport for `transport: 'udp'` or `nats`. */
  #createTransport(name: TransportName): ServerTransport {
    const host: ServerTransportHost = {
      settings: this.#settings,
      options: this.options,
      counters: this.#unclaimed,
      refuse: (): void => {
        this.refusedConnections++;
      },
      adopt: (link: LinkFactory): Session => this.#adopt(link),
      emitError: (err: Error): void => {
        this.#emitError(err);
      },
    };
    return createServerTransport(name, host);
  }

  async #listenOn(transport: ServerTransport): Promise<ListenAddress> {
    this.#address = await transport.listen();
    this.#transport = transport;
    if (this.#state !== 'idle') {
      await transport.close();
      throw new HopwireError(ErrorCode.CLOSED, 'the server was closed while it started');
    }
    return this.#listening();
  }

  async #listening(): Promise<ListenAddress> {
    const address = this.#address;
    if (address === undefined) throw new Error('listening without an address');
    this.#state = 'listening';
    this.#listeningSince = Date.now();
    const metrics = this.options.metrics;
    if (metrics !== undefined) {
      this.#metrics = new MetricsServer(() => this.metrics());
      this.metricsAddress = await this.#metrics.listen(metrics.port, metrics.host);
    }
    debug('server listening on %o', address);
    this.emit('listening', address);
    return address;
  }

  /** Tracks a session a transport made for a peer. */
  #adopt(link: LinkFactory): Session {
    const session = new Session(link, this.#settings, this.#owner);
    this.#all.add(session);
    debug('session %d adopted', session.id);
    return session;
  }

  /**
   * Sends one message to every ready session, encoded once per framing.
   *
   * Resolves once every session has taken the message: written to the OS,
   * or — for a session that is lagging (its last write took longer than
   * `slowConsumer.lag`) — queued in its write buffer. A session whose buffer
   * passes `slowConsumer.maxBytes` is disconnected (`'disconnect'`, reason
   * `slow-consumer`), skipped (`'drop'`, counted in `droppedMessages`), or
   * waited for (`'wait'`). One slow reader therefore cannot hold the
   * broadcast back for long, nor grow the server's memory without bound.
   *
   * With `transport: 'udp'`, one datagram goes to each peer heard from
   * within `peerTimeout` (see `docs/udp.md`).
   *
   * @returns the number of sessions the message was written or queued to
   * @throws HopwireError `ERR_ENCODE` when the value cannot be encoded, or
   * `ERR_DATAGRAM_TOO_LARGE` when it does not fit one UDP datagram (then
   * nothing is sent)
   */
  sendAll(value: unknown): Promise<number> {
    const sessions = [...this.#ready];
    if (this.#transport?.sendAll !== undefined) return this.#transport.sendAll(value, sessions);
    // Encoded and framed once per format in use, into the broadcaster's shared chunk when small.
    let binary: BroadcastFrame | undefined;
    let packed: BroadcastFrame | undefined;
    let lines: BroadcastFrame | undefined;
    const msgpack = this.options.msgpack;
    const broadcaster = this.#broadcaster;
    try {
      for (const s of sessions) {
        if (s.protocol !== 'binary') lines ??= broadcaster.frameBytes(s.connection.encodeMessage(value)); // every lines session shares the envelope
        else if (msgpack !== undefined && s.payloadFormat === 'msgpack') packed ??= broadcaster.frameValue(msgpack.encode(value));
        else binary ??= broadcaster.frameValue(this.options.codec.encode(value));
      }
    } catch (err) {
      return Promise.reject(toError(err));
    }
    return broadcaster.send(sessions, (s) => (s.protocol !== 'binary' ? lines : s.payloadFormat === 'msgpack' ? packed : binary) ?? []);
  }


  /**
   * The server's figures: connections, messages and bytes, requests, queues,
   * errors, and per-session details. Counting costs a field increment.
   */
  stats(): ServerStats {
    const totals = newCounters();
    addCounters(totals, this.#ended);
    addCounters(totals, this.#unclaimed);
    const sessions = [...this.#ready].map((s) => s.stats());
    const byProtocol = { binary: 0, lines: 0 };
    let pendingRequests = 0;
    let bufferedBytes = 0;
    let droppedMessages = this.#droppedByEnded;
    for (const s of sessions) {
      addCounters(totals, s);
      if (s.protocol !== undefined) byProtocol[s.protocol]++;
      pendingRequests += s.pendingRequests;
      bufferedBytes += s.bufferedBytes;
      droppedMessages += s.droppedMessages;
    }
    return {
      ...totals,
      uptimeMs: this.#listeningSince === 0 ? 0 : Date.now() - this.#listeningSince,
      connections: sessions.length,
      connectionsByProtocol: byProtocol,
      connectionsTotal: this.#connectionsTotal,
      connectionsRefused: this.refusedConnections,
      disconnects: { ...this.#disconnects },
      pendingRequests,
      bufferedBytes,
      droppedMessages,
      duplicatesDropped: this.#duplicatesDropped,
      sessions,
    };
  }

  /** The server's figures in the Prometheus text exposition format, `hopwire_*` names. */
  metrics(): string {
    return prometheusText(this.stats());
  }

  /**
   * Stops listening, closes every session gracefully and resolves when all
   * are gone. Nothing the server started is left running.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const starting = this.#net === undefined && this.#transport === undefined ? this.#starting : undefined; // a listen still in flight
    this.#state = 'closing';
    if (starting !== undefined) await starting.catch(() => undefined); // it finishes (or gives up) first
    // Otherwise sessions start closing now, synchronously: frames already read are not handled.
    const net = this.#net;
    const stopped =
      net === undefined
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            net.close(() => {
              resolve();
            });
          });
    await Promise.all([...this.#all].map((s) => s.connection.close('the server is shutting down')));
    for (const socket of this.#raw) socket.destroy(); // never became sessions (TLS handshakes in progress)
    await stopped;
    await this.#transport?.close();
    this.#transport = undefined;
    await this.#metrics?.close();
    this.#metrics = undefined;
    this.#state = 'closed';
    this.#net = undefined;
    debug('server closed');
    this.emit('close');
  }

  /** Connections refused at accept: not on the allow-list, over `maxConnections`, or a failed TLS handshake. */
  refusedConnections = 0;

  /** Closes a just-accepted socket that is not on the allow-list, before reading from it. */
  #screen(socket: Socket): void {
    const allow = this.options.allow;
    if (allow === undefined || isAllowed(allow, socket.remoteAddress)) {
      this.#raw.add(socket);
      socket.once('close', () => this.#raw.delete(socket));
      return;
    }
    this.refusedConnections++;
    debug('refused %s: not on the allow-list', socket.remoteAddress ?? '?');
    socket.destroy();
  }

  #accept(socket: Socket): void {
    if (this.#state !== 'listening' || socket.destroyed) {
      socket.destroy();
      return;
    }
    const session = new Session(socket, this.#settings, this.#owner);
    this.#all.add(session);
    debug('session %d accepted from %s', session.id, socket.remoteAddress ?? 'unix socket');
  }

  #onSessionReady(session: Session): void {
    this.#ready.add(session);
    this.#connectionsTotal++;
    this.emit('connect', session);
  }

  #onSessionMessage(session: Session, value: unknown, meta: ReceiveMeta, seq: number, reply?: (value: unknown) => Promise<void>): void {
    if (seq !== 0) {
      const client = session.clientId;
      if (client !== undefined && !this.#dedup.accept(client, seq, Date.now())) {
        debug('session %d: duplicate message %d from %s acknowledged again, not delivered', session.id, seq, client);
        this.#duplicatesDropped++;
        return;
      }
    }
    if (this.listenerCount('message') === 0 && !this.#router.hasListeners) return;
    // Written out property by property: `{ ...meta, more }` takes V8's slow path (≈1–3 µs per message).
    const ctx: ServerMessageContext = {
      type: meta.type,
      known: meta.known,
      unknownTypes: meta.unknownTypes,
      protocol: meta.protocol,
      session,
      reply: reply ?? session.replyToSender,
    };
    this.emit('message', value, ctx);
    this.#router.dispatchMessage(value, meta, ctx);
  }

  #onSessionRequest(session: Session, value: unknown, meta: ReceiveMeta, signal: AbortSignal): unknown {
    const ctx: ServerRequestContext = { type: meta.type, known: meta.known, unknownTypes: meta.unknownTypes, protocol: meta.protocol, session, signal };
    return this.#router.dispatchRequest(value, meta, ctx);
  }

  #onSessionClose(session: Session, info: DisconnectInfo): void {
    this.#all.delete(session);
    addCounters(this.#ended, session.connection.counters);
    this.#droppedByEnded += session.droppedMessages;
    this.#disconnects[info.reason]++;
    const wasReady = this.#ready.delete(session);
    debug('session %d closed: %s', session.id, info.message);
    if (wasReady) this.emit('disconnect', session, info);
  }

  #emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else debug('server error (no listener): %s', err.message);
  }
}

/** Whether `address` (IPv4-mapped IPv6 forms included) is on the allow-list. */
function isAllowed(allow: BlockList, address: string | undefined): boolean {
  if (address === undefined) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return allow.check(mapped[1], 'ipv4');
  return allow.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
}
