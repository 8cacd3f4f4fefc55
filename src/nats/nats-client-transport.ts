/**
 * The client side of the `nats` option: requests and messages are
 * published to the service subject, where one server of the queue group
 * takes each; replies, `session.send()` and `session.request()` come to
 * this client's inbox; `sendAll()` comes on the broadcast subject.
 *
 * The client says hello on the control subject when it connects, after
 * each NATS reconnect, when a server asks (a server that starts does), and
 * every `ping.interval` ms, so servers know it is there; it says goodbye
 * when it closes. Reconnect is the NATS client's: its status events become
 * this client's `disconnect`, `reconnecting` and `connect` events.
 *
 * @module
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { debug } from '../debug.js';
import { ErrorCode, clientClosedError, HopwireError, rethrow, toError } from '../errors.js';
import { type Frame, FrameKind } from '../frame.js';
import { type ConnectionCounters, newCounters } from '../stats.js';
import type { ClientTransport, ClientTransportHost } from '../transport.js';
import type { RequestOptions, SendOptions } from '../types.js';
import type { EncodedValue } from '../codec.js';
import { type NatsServer, closeNats, guarded, openNats, serverEndpoint, watchStatus } from './connect.js';
import { helloPayload } from './frames.js';
import { loadNats } from './loader.js';
import { NatsPeer, type Receiver } from './nats-peer.js';
import { broadcastSubject, controlSubject } from './subjects.js';

/** The NATS transport of a client. */
export class NatsClientTransport implements ClientTransport {
  readonly #host: ClientTransportHost;
  readonly #subject: string;
  readonly #idle: ConnectionCounters = newCounters();
  readonly #abort = new AbortController();
  readonly #receiver: Receiver;
  #nc: NatsConnection | undefined;
  #peer: NatsPeer | undefined;
  #state: 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'stopped' | 'closed' = 'idle';
  #hello: NodeJS.Timeout | undefined;
  #attempt = 0;

  /** @param host - the client */
  constructor(host: ClientTransportHost) {
    this.#host = host;
    this.#subject = host.options.subject ?? '';
    this.#receiver = {
      onMessage: (value, meta, reply) => {
        this.#host.onMessage(value, meta, reply);
      },
      onRequest: (value, meta, signal) => this.#host.onRequest(value, meta, signal),
      onListenerError: rethrow, // a listener threw: uncaught, as from any EventEmitter
      signal: this.#abort.signal,
    };
  }

  /** True while the NATS client is connected to a server. */
  get connected(): boolean {
    return this.#state === 'connected';
  }

  /** True once the NATS client gave up reconnecting (`reconnect: false`, or `nats.maxReconnectAttempts` spent). */
  get stopped(): boolean {
    return this.#state === 'stopped';
  }

  /** Requests waiting for a reply. */
  get pendingRequests(): number {
    return this.#peer?.pendingRequests ?? 0;
  }

  /** Messages, bytes and requests, both ways. */
  get counters(): Readonly<ConnectionCounters> {
    return this.#peer?.counters ?? this.#idle;
  }

  /**
   * Connects to the cluster, subscribes to this client's inbox and the
   * broadcast subject, and says hello.
   *
   * @throws HopwireError `ERR_MISSING_DEPENDENCY`, `ERR_NOT_CONNECTED` when
   * no NATS server answers, `ERR_CLOSED` after `close()`
   */
  async connect(): Promise<void> {
    if (this.#state === 'connected' || this.#state === 'reconnecting') return;
    if (this.#state === 'closed') throw clientClosedError();
    if (this.#state === 'stopped') throw stoppedError();
    this.#state = 'connecting';
    const o = this.#host.options;
    let nc: NatsConnection;
    try {
      const { createInbox } = await loadNats();
      nc = await openNats({
        nats: o.nats ?? { servers: [] },
        subject: this.#subject,
        role: 'client',
        reconnect: o.reconnect !== false,
        waitOnFirstConnect: o.reconnect !== false && o.reconnect.retryFirstConnect,
      });
      if (this.#isClosed()) {
        await nc.close();
        throw clientClosedError();
      }
      this.#nc = nc;
      const peer = new NatsPeer(nc, this.#host.settings, createInbox(), (msg, frame) => {
        this.#deliver(msg, frame);
      });
      this.#peer = peer;
      nc.subscribe(broadcastSubject(this.#subject), {
        callback: guarded((err, msg) => {
          if (err === null) this.#onBroadcast(msg);
        }),
      });
      this.#sayHello(FrameKind.HELLO);
      await nc.flush();
    } catch (err) {
      if (!this.#isClosed()) this.#state = 'idle';
      const opened = this.#nc;
      const error = toError(err);
      this.#peer?.close(error); // requests made while the connect was flushing: rejected now, not at their timeout
      this.#nc = undefined;
      this.#peer = undefined;
      if (opened !== undefined) await closeNats(opened, false);
      throw error;
    }
    if (this.#isClosed()) throw clientClosedError();
    this.#state = 'connected';
    this.#startHeartbeat();
    this.#watch(nc);
    debug('NATS client connected to %s, inbox %s', nc.getServer(), this.#peer.inbox);
    this.#host.onConnect(serverEndpoint(nc.getServer()));
  }

  /**
   * Publishes one message to the service: one server of the queue group
   * gets it. Resolves once the NATS client has taken it.
   *
   * @throws HopwireError `ERR_PAYLOAD_TOO_LARGE` (nothing sent), `ERR_ENCODE`,
   * `ERR_UNSUPPORTED` (`ack`, or a function inside), `ERR_NOT_CONNECTED`
   * before `connect()`, `ERR_CLOSED` after `close()`
   */
  send(value: unknown, options: SendOptions): Promise<void> {
    if (options.ack === true) {
      return Promise.reject(new HopwireError(ErrorCode.UNSUPPORTED, 'send({ ack: true }) is not available over NATS: use request() for a confirmed delivery (see docs/scaling.md)'));
    }
    const peer = this.#live();
    return peer instanceof Error ? Promise.reject(peer) : peer.send(this.#subject, value);
  }

  /** Publishes a request to the service and resolves with the reply of the server that took it. */
  request(value: unknown, options: RequestOptions): Promise<unknown> {
    const peer = this.#live();
    return peer instanceof Error ? Promise.reject(peer) : peer.request(this.#subject, value, options);
  }

  /** {@link request} for an already encoded value (proxies). */
  requestEncoded(encoded: EncodedValue, options: RequestOptions): Promise<unknown> {
    const peer = this.#live();
    return peer instanceof Error ? Promise.reject(peer) : peer.requestEncoded(this.#subject, encoded, options);
  }

  /** Nothing to release: functions do not travel over NATS. */
  release(): boolean {
    return false;
  }

  /** Says goodbye, rejects waiting requests and drains the NATS connection. */
  async close(): Promise<void> {
    const wasConnected = this.#state === 'connected';
    this.#state = 'closed';
    clearInterval(this.#hello);
    this.#abort.abort();
    const nc = this.#nc;
    if (nc === undefined) return;
    if (wasConnected) this.#sayHello(FrameKind.GOODBYE);
    this.#peer?.close(clientClosedError());
    await closeNats(nc, wasConnected);
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #live(): NatsPeer | HopwireError {
    if (this.#state === 'closed') return clientClosedError();
    if (this.#state === 'stopped') return stoppedError();
    return this.#peer ?? new HopwireError(ErrorCode.NOT_CONNECTED, 'not connected: call connect() first');
  }

  #deliver(msg: Msg, frame: Frame): void {
    const peer = this.#peer;
    if (peer === undefined || this.#isClosed()) return;
    const to = msg.reply;
    peer.deliver(msg, frame, this.#receiver, to === undefined ? undefined : (value) => peer.send(to, value));
  }

  #onBroadcast(msg: Msg): void {
    const frame = this.#peer?.read(msg);
    if (frame === undefined) return;
    if (frame.kind === FrameKind.HELLO) this.#sayHello(FrameKind.HELLO); // a server asks who is there
    else this.#deliver(msg, frame);
  }

  #sayHello(kind: typeof FrameKind.HELLO | typeof FrameKind.GOODBYE): void {
    try {
      this.#peer?.publish(controlSubject(this.#subject), helloPayload(kind, this.#host.settings.identity ?? ''));
    } catch (err) {
      debug('NATS client hello: %s', toError(err).message);
    }
  }

  /** Says hello every `ping.interval` ms, so servers keep its session. */
  #startHeartbeat(): void {
    const ping = this.#host.options.ping;
    if (ping === false) return;
    this.#hello = setInterval(() => {
      if (this.#state === 'connected') this.#sayHello(FrameKind.HELLO);
    }, ping.interval);
    this.#hello.unref();
  }

  #watch(nc: NatsConnection): void {
    let server: NatsServer = serverEndpoint(nc.getServer());
    watchStatus(nc, {
      onDisconnect: (lost) => {
        if (this.#state !== 'connected') return;
        this.#state = 'reconnecting';
        this.#attempt = 0;
        server = lost;
        this.#host.onDisconnect({ reason: 'socket-error', message: `lost the NATS server ${lost.host}:${lost.port}; the NATS client reconnects` }, lost);
      },
      onReconnecting: () => {
        if (this.#state === 'reconnecting') this.#host.onReconnecting(++this.#attempt, 0, server);
      },
      onReconnect: (found) => {
        if (this.#state !== 'reconnecting') return;
        this.#state = 'connected';
        server = found;
        this.#sayHello(FrameKind.HELLO);
        this.#host.onConnect(found);
      },
      onError: (err) => {
        this.#host.emitError(err);
      },
    })
      .catch((err: unknown) => {
        debug('NATS status: %s', toError(err).message);
      })
      .finally(() => {
        if (nc.isClosed()) this.#stopped();
      });
  }

  /** The NATS connection closed without `close()`: its client gave up reconnecting. */
  #stopped(): void {
    if (this.#state === 'closed') return;
    const wasConnected = this.#state === 'connected';
    this.#state = 'stopped';
    clearInterval(this.#hello);
    this.#abort.abort();
    const error = stoppedError();
    this.#peer?.rejectAll(error);
    if (wasConnected) this.#host.onDisconnect({ reason: 'socket-error', message: error.message, error });
  }
}

function stoppedError(): HopwireError {
  return new HopwireError(ErrorCode.NOT_CONNECTED, 'the NATS connection is closed: the NATS client gave up reconnecting (see reconnect and nats.maxReconnectAttempts)');
}
