/**
 * The server side of one client over NATS: the {@link SessionLink} a
 * {@link Session} runs on when the server has the `nats` option. It owns no
 * connection: it publishes to the client's inbox through the server's
 * {@link NatsPeer}, and the server transport hands it what the client sends.
 *
 * @module
 */
import type { Msg } from '@nats-io/transport-node';
import type { EncodedValue } from '../codec.js';
import { ErrorCode, HopwireError, toError } from '../errors.js';
import type { Frame } from '../frame.js';
import { type Hello } from '../handshake.js';
import { PROTOCOL_VERSION } from '../frame.js';
import { MessageIterator } from '../message-iterator.js';
import type { SessionLink } from '../session.js';
import { type ConnectionCounters, newCounters } from '../stats.js';
import type { LinkHost } from '../transport.js';
import type { DisconnectInfo, Protocol, RequestOptions } from '../types.js';
import type { NatsPeer, Receiver } from './nats-peer.js';
import { directSubject } from './subjects.js';

/** One client of a NATS-carried server, as its session sees it. */
export class NatsLink implements SessionLink {
  /** NATS messages carry binary frames. */
  readonly protocol: Protocol = 'binary';
  /** Published at once: nothing waits in a buffer of this link. */
  readonly writableLength = 0;
  /** Functions are not sent over NATS. */
  readonly heldFunctions = 0;
  /** Zero: over NATS the server counts for all its clients at once (`server.stats()`). */
  readonly counters: ConnectionCounters = newCounters();
  /** NATS subjects have no port. */
  readonly remotePort = undefined;
  /** What the client said in its hello (its identity), if it said hello. */
  peerHello: Hello | undefined;
  /** When the client was last heard from (ms since the epoch). */
  lastActivity = Date.now();
  readonly #host: LinkHost;
  readonly #peer: NatsPeer;
  readonly #to: string;
  readonly #gone: (link: NatsLink) => void;
  readonly #abort = new AbortController();
  readonly #receiver: Receiver;
  #pending = 0;
  #state: 'new' | 'ready' | 'closed' = 'new';
  #info: DisconnectInfo | undefined;

  /**
   * @param key - the client's inbox: where the transport finds it, and its address
   * @param peer - publishes for the server
   * @param gone - the link ended: forget it
   */
  constructor(
    readonly key: string,
    host: LinkHost,
    peer: NatsPeer,
    gone: (link: NatsLink) => void,
  ) {
    this.#host = host;
    this.#peer = peer;
    this.#to = directSubject(key);
    this.#gone = gone;
    this.#receiver = {
      onMessage: (value, meta) => {
        host.onMessage(value, meta, 0); // ctx.reply: the session's send, to this client's inbox
      },
      onRequest: (value, meta, signal) => host.onRequest(value, meta, signal),
      onListenerError: (err) => {
        host.onListenerError(err);
      },
      signal: this.#abort.signal,
    };
  }

  /** The client's inbox subject (there is no IP address over NATS). */
  get remoteAddress(): string {
    return this.key;
  }

  /** True from {@link start} until closed. */
  get ready(): boolean {
    return this.#state === 'ready';
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** Why it ended, once it has. */
  get disconnectInfo(): DisconnectInfo | undefined {
    return this.#info;
  }

  /** Requests sent to this client still waiting for a reply. */
  get pendingRequests(): number {
    return this.#pending;
  }

  /** Makes the session ready (its `connect` event); called once the session exists. */
  start(): void {
    if (this.#state !== 'new') return;
    this.#state = 'ready';
    try {
      this.#host.onReady();
    } catch (err) {
      this.#host.onListenerError(err);
    }
  }

  /** The client said hello (again): it is alive. */
  hello(id: string | undefined): void {
    this.lastActivity = Date.now();
    if (id !== undefined && this.peerHello === undefined) this.peerHello = { version: PROTOCOL_VERSION, min: PROTOCOL_VERSION, caps: [], id };
  }

  /** The client sent a message or a request. */
  received(msg: Msg, frame: Frame): void {
    this.lastActivity = Date.now();
    if (this.#state === 'ready') this.#peer.deliver(msg, frame, this.#receiver);
  }

  /** Publishes a message to the client's inbox. */
  send(value: unknown): Promise<void> {
    const refusal = this.#refuseSend();
    return refusal === undefined ? this.#peer.send(this.#to, value) : Promise.reject(refusal);
  }

  /** Encodes a message as one NATS payload. @throws HopwireError `ERR_PAYLOAD_TOO_LARGE`, `ERR_ENCODE` */
  encodeMessage(value: unknown): Buffer[] {
    return [this.#peer.encode(value)];
  }

  /** Publishes a payload made by {@link encodeMessage}. */
  sendEncoded(parts: Buffer[]): Promise<void> {
    const refusal = this.#refuseSend();
    if (refusal !== undefined) return Promise.reject(refusal);
    try {
      this.#peer.publish(this.#to, parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts));
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(toError(err));
    }
  }

  /** Sends a request to the client (it needs `client.handle()`). */
  request(value: unknown, options: RequestOptions = {}): Promise<unknown> {
    return this.#track(() => this.#peer.request(this.#to, value, options));
  }

  /** Sends an already encoded request (proxies). */
  requestEncoded(encoded: EncodedValue, options: RequestOptions = {}): Promise<unknown> {
    return this.#track(() => this.#peer.requestEncoded(this.#to, encoded, options));
  }

  /** An iterator that fails with `ERR_UNSUPPORTED`: request streams do not travel over NATS. */
  requestStream(): AsyncIterableIterator<unknown> {
    const it = new MessageIterator<unknown>(1, () => undefined);
    it.fail(new HopwireError(ErrorCode.UNSUPPORTED, 'session.requestStream() is not available over NATS (see docs/scaling.md)'));
    return it;
  }

  /** Nothing to release: functions do not travel over NATS. */
  release(): boolean {
    return false;
  }

  /** Forgets the client (nothing is sent to it); resolves at once. */
  close(why = 'closing'): Promise<void> {
    this.#end({ reason: 'closed', message: `closed by this side (${why})` });
    return Promise.resolve();
  }

  /** Forgets the client, with the reason given. */
  destroy(info: DisconnectInfo = { reason: 'closed', message: 'destroyed by this side' }): void {
    this.#end(info);
  }

  #track(request: () => Promise<unknown>): Promise<unknown> {
    const refusal = this.#refuseSend();
    if (refusal !== undefined) return Promise.reject(refusal);
    this.#pending++;
    return request().finally(() => {
      this.#pending--;
    });
  }

  #end(info: DisconnectInfo): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#info = info;
    this.#abort.abort();
    this.#gone(this);
    this.#host.onClose(info);
  }

  #refuseSend(): HopwireError | undefined {
    if (this.#state === 'ready') return undefined;
    if (this.#state === 'new') return new HopwireError(ErrorCode.NOT_CONNECTED, 'the session is not ready yet');
    return this.#info?.reason === 'closed'
      ? new HopwireError(ErrorCode.CLOSED, 'the session was closed')
      : new HopwireError(ErrorCode.NOT_CONNECTED, `the session is gone: ${this.#info?.message ?? 'closed'}`);
  }
}
