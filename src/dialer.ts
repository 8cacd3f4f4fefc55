/**
 * The client's way to its server over a stream socket (TCP, TLS or Unix):
 * one socket at a time, each attempt with its connect timeout and the
 * hello, then reconnecting with backoff after a failed attempt or a dropped
 * connection. Settles the `connect()` calls waiting on it, flushes the
 * offline queue after each hello and rejects it when there is no way back.
 * Moves the client's state along (the diagram in `client.ts`); the client
 * emits the events.
 *
 * @module
 */
import { type Socket, isIP, connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Backoff } from './backoff.js';
import type { ClientState, ReconnectInfo } from './client-types.js';
import { Connection } from './connection.js';
import type { ConnectionHost, ConnectionSettings } from './connection-types.js';
import { debug } from './debug.js';
import { ErrorCode, HopwireError, rethrow } from './errors.js';
import type { ResolvedClientOptions } from './options.js';
import type { Outbox } from './outbox.js';
import { type ConnectionCounters, addCounters, newCounters } from './stats.js';
import type { DisconnectInfo } from './types.js';

/** What a {@link Dialer} needs from its client. */
export interface DialerHost {
  /** The client's state (`'closed'` stops everything). */
  readonly state: () => ClientState;
  /** Moves the client's state along. */
  readonly setState: (state: ClientState) => void;
  /** A message arrived on the connection. */
  readonly onMessage: ConnectionHost['onMessage'];
  /** A request arrived on the connection: the reply, a promise of it, or `NO_HANDLER`. */
  readonly onRequest: ConnectionHost['onRequest'];
  /** The hello completed (the first time and after each reconnect), before the offline queue is flushed. */
  readonly onHello: () => void;
  /** The connection is ready and the queue flushed: time for the `connect` event. */
  readonly onConnect: () => void;
  /** A connection whose hello completed has ended. */
  readonly onDisconnect: (info: DisconnectInfo) => void;
  /** A reconnect attempt is scheduled. */
  readonly onReconnecting: (info: ReconnectInfo) => void;
  /** Something went wrong that no promise reports. */
  readonly emitError: (err: Error) => void;
}

/** A promise's two ends, kept until it settles. */
interface Settle {
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Connects a client to its one server, and reconnects it. */
export class Dialer {
  readonly #host: DialerHost;
  readonly #settings: ConnectionSettings;
  readonly #options: ResolvedClientOptions;
  readonly #outbox: Outbox;
  readonly #connectionHost: ConnectionHost;
  readonly #backoff: Backoff | undefined;
  #socket: Socket | undefined;
  #conn: Connection | undefined;
  /** The connection whose hello completed, until it closes. */
  #readyConn: Connection | undefined;
  #connecting: Promise<void> | undefined;
  #firstConnect: Settle | undefined;
  /** `connect()` calls made while reconnecting, waiting for the reconnect. */
  #waiters: Settle[] = [];
  /** Counters of connections that have ended. */
  readonly #ended = newCounters();

  /**
   * @param host - the client's side
   * @param settings - what each connection is made with
   * @param options - the endpoint, TLS, connect timeout and reconnect options
   * @param outbox - the client's offline queue: flushed after each hello, rejected when there is no way back
   */
  constructor(host: DialerHost, settings: ConnectionSettings, options: ResolvedClientOptions, outbox: Outbox) {
    this.#host = host;
    this.#settings = settings;
    this.#options = options;
    this.#outbox = outbox;
    // Referenced: a client that is reconnecting is open, so its program waits for it (close() cancels).
    if (options.reconnect !== false) this.#backoff = new Backoff(options.reconnect, Math.random, true);
    this.#connectionHost = {
      onReady: (conn) => {
        this.#onReady(conn);
      },
      onMessage: host.onMessage,
      onRequest: host.onRequest,
      onAck: (_conn, seq) => {
        outbox.onAck(seq);
      },
      onClose: (conn, info) => {
        this.#onConnectionClose(conn, info);
      },
      onListenerError: (_conn, err) => {
        rethrow(err);
      },
    };
  }

  /** The connection, from the socket's connect until it closes (hello or not). */
  get conn(): Connection | undefined {
    return this.#conn;
  }

  /** The connection whose hello completed, until it closes. */
  get established(): Connection | undefined {
    return this.#readyConn;
  }

  /** The connection, when ready. */
  get live(): Connection | undefined {
    const conn = this.#readyConn;
    return conn?.ready === true ? conn : undefined;
  }

  /** True when a lost connection is followed by a reconnect (the `reconnect` option is not `false`). */
  get reconnects(): boolean {
    return this.#backoff !== undefined;
  }

  /** What the connections that have ended counted. */
  get ended(): Readonly<ConnectionCounters> {
    return this.#ended;
  }

  /**
   * Connects, or joins the attempt in progress; while reconnecting, waits
   * for the reconnect instead of starting another.
   */
  connect(): Promise<void> {
    if (this.#connecting !== undefined) return this.#connecting;
    if (this.#host.state() === 'reconnecting') return this.#nextConnect();
    this.#connecting = new Promise<void>((resolve, reject) => {
      this.#firstConnect = { resolve, reject };
    }).finally(() => {
      this.#connecting = undefined;
      this.#firstConnect = undefined;
    });
    this.#host.setState('connecting');
    this.#attempt();
    return this.#connecting;
  }

  /**
   * Stops: no more attempts, the pending `connect()` calls and the offline
   * queue rejected, the socket destroyed. The client's state is already
   * `'closed'`.
   *
   * @param closed - makes the error queued sends and waiting `connect()` calls are rejected with
   * @returns the closing of the connection, when there is one
   */
  close(closed: () => Error): Promise<void> | undefined {
    this.#backoff?.cancel();
    this.#firstConnect?.reject(new HopwireError(ErrorCode.CLOSED, 'the client was closed while connecting'));
    this.#outbox.rejectAll(closed());
    this.#settleWaiters(closed());
    this.#socket?.destroy();
    return this.#conn?.close('the client is closing');
  }

  /** While reconnecting, `connect()` waits for the reconnect in progress instead of starting another. */
  #nextConnect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    });
  }

  /** Settles the `connect()` calls made while reconnecting. */
  #settleWaiters(err?: Error): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) {
      if (err === undefined) w.resolve();
      else w.reject(err);
    }
  }

  /** Opens one socket and runs the hello on it. */
  #attempt(): void {
    if (this.#socket !== undefined || this.#conn !== undefined) return; // one attempt or connection at a time
    const socket = openSocket(this.#options);
    this.#socket = socket;
    const timer = setTimeout(() => {
      socket.destroy(new HopwireError(ErrorCode.NOT_CONNECTED, `connect timed out after ${this.#options.connectTimeout} ms`));
    }, this.#options.connectTimeout);
    timer.unref();
    socket.once('close', () => {
      clearTimeout(timer); // however the attempt ends, close() included
      if (this.#socket === socket) this.#socket = undefined;
    });
    const onError = (err: Error): void => {
      clearTimeout(timer);
      this.#socket = undefined;
      this.#attemptFailed(err);
    };
    socket.once('error', onError);
    socket.once(this.#options.tls === undefined ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      this.#socket = undefined;
      if (this.#host.state() === 'closed') {
        socket.destroy();
        return;
      }
      const conn = new Connection(socket, this.#settings, this.#connectionHost);
      socket.off('error', onError);
      this.#conn = conn;
    });
  }

  #onReady(conn: Connection): void {
    if (this.#conn !== conn) return;
    this.#readyConn = conn;
    this.#host.setState('connected');
    this.#host.onHello();
    this.#backoff?.reset();
    this.#outbox.flush(conn); // before anything sent from the listeners below
    this.#settleWaiters();
    debug('client connected');
    this.#firstConnect?.resolve();
    this.#host.onConnect();
  }

  #attemptFailed(err: Error): void {
    const host = this.#host;
    if (host.state() === 'closed') return;
    debug('connect attempt failed: %s', err.message);
    const first = this.#firstConnect;
    // A wrong secret or an unspeakable version will not get better by retrying.
    const fatal = err instanceof HopwireError && (err.code === ErrorCode.AUTH || err.code === ErrorCode.VERSION);
    if (fatal && first === undefined) {
      host.setState('disconnected');
      this.#outbox.rejectAll(err);
      this.#settleWaiters(err);
      host.emitError(err);
      return;
    }
    if (host.state() === 'connecting' && first !== undefined) {
      const retry = this.#options.reconnect !== false && this.#options.reconnect.retryFirstConnect && !fatal;
      if (!retry) {
        host.setState('idle');
        this.#outbox.rejectAll(new HopwireError(ErrorCode.NOT_CONNECTED, `cannot connect: ${err.message}`));
        first.reject(err instanceof HopwireError ? err : new HopwireError(ErrorCode.NOT_CONNECTED, `cannot connect: ${err.message}`, { cause: err }));
        return;
      }
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const host = this.#host;
    const backoff = this.#backoff;
    if (backoff === undefined || host.state() === 'closed') {
      if (host.state() !== 'closed') {
        host.setState('disconnected');
        const err = new HopwireError(ErrorCode.NOT_CONNECTED, 'disconnected, and reconnect is off');
        this.#outbox.rejectAll(err);
        this.#settleWaiters(err);
      }
      return;
    }
    if (host.state() !== 'connecting') host.setState('reconnecting');
    const info = backoff.schedule(() => {
      this.#attempt();
    });
    debug('reconnect attempt %d in %d ms', info.attempt, info.delay);
    host.onReconnecting(info);
  }

  #onConnectionClose(conn: Connection, info: DisconnectInfo): void {
    if (this.#conn !== conn) return;
    const host = this.#host;
    this.#conn = undefined;
    addCounters(this.#ended, conn.counters);
    const wasConnected = this.#readyConn === conn;
    this.#readyConn = undefined;
    if (host.state() === 'closed') {
      if (wasConnected) host.onDisconnect(info);
      return;
    }
    if (!wasConnected) {
      // the socket opened but the hello failed
      this.#attemptFailed(info.error ?? new HopwireError(ErrorCode.NOT_CONNECTED, info.message));
      return;
    }
    // the state moves on before listeners run, so they never see a stale 'connected'
    host.setState(this.#backoff === undefined ? 'disconnected' : 'reconnecting');
    host.onDisconnect(info);
    if (info.error !== undefined && info.reason === 'protocol-error') host.emitError(info.error);
    this.#scheduleReconnect();
  }
}

/** A TCP, TLS or Unix socket to the server. */
function openSocket(options: ResolvedClientOptions): Socket {
  const endpoint = options.endpoint;
  if ('path' in endpoint) return netConnect({ path: endpoint.path });
  const tls = options.tls;
  if (tls === undefined) return netConnect({ port: endpoint.port, host: endpoint.host });
  if (tls.rejectUnauthorized === false) debug('TLS: the server certificate is NOT verified (rejectUnauthorized: false)');
  const servername = tls.servername ?? (isIP(endpoint.host) === 0 ? endpoint.host : undefined);
  return tlsConnect({ ...tls, port: endpoint.port, host: endpoint.host, ...(servername === undefined ? {} : { servername }) });
}
