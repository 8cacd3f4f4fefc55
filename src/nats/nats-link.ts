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
import { type Frame, PROTOCOL_VERSION } from '../frame.js';
import type { Hello } from '../handshake.js';
import { PeerLink } from '../peer-link.js';
import type { SessionLink } from '../session.js';
import type { LinkHost } from '../transport.js';
import type { RequestOptions } from '../types.js';
import type { NatsPeer, Receiver } from './nats-peer.js';
import { directSubject } from './subjects.js';

/** One client of a NATS-carried server, as its session sees it. */
export class NatsLink extends PeerLink implements SessionLink {
  /** NATS subjects have no port. */
  readonly remotePort = undefined;
  /** What the client said in its hello (its identity), if it said hello. */
  peerHello: Hello | undefined;
  readonly #peer: NatsPeer;
  readonly #to: string;
  readonly #gone: (link: NatsLink) => void;
  readonly #abort = new AbortController();
  readonly #receiver: Receiver;
  /** Ids (in the server's {@link NatsPeer}) of requests sent to this client and still waiting. */
  readonly #waiting = new Set<number>();

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
    super(host, 'over NATS (see docs/scaling.md)');
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

  /** Requests sent to this client still waiting for a reply. */
  get pendingRequests(): number {
    return this.#waiting.size;
  }

  /** The client said hello (again): it is alive. */
  hello(id: string | undefined): void {
    this.lastActivity = Date.now();
    if (id !== undefined && this.peerHello === undefined) this.peerHello = { version: PROTOCOL_VERSION, min: PROTOCOL_VERSION, caps: [], id };
  }

  /** The client sent a message or a request. Zero counters here: the server counts for all its clients (`server.stats()`). */
  received(msg: Msg, frame: Frame): void {
    this.lastActivity = Date.now();
    if (this.ready) this.#peer.deliver(msg, frame, this.#receiver);
  }

  /** Publishes a message to the client's inbox. */
  send(value: unknown): Promise<void> {
    const refusal = this.refuseSend();
    return refusal === undefined ? this.#peer.send(this.#to, value) : Promise.reject(refusal);
  }

  /** Encodes a message as one NATS payload. @throws HopwireError `ERR_PAYLOAD_TOO_LARGE`, `ERR_ENCODE` */
  encodeMessage(value: unknown): Buffer[] {
    return [this.#peer.encode(value)];
  }

  /** Publishes a payload made by {@link encodeMessage}. */
  sendEncoded(parts: Buffer[]): Promise<void> {
    const refusal = this.refuseSend();
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
    return this.#track((onId) => this.#peer.request(this.#to, value, options, onId));
  }

  /** Sends an already encoded request (proxies). */
  requestEncoded(encoded: EncodedValue, options: RequestOptions = {}): Promise<unknown> {
    return this.#track((onId) => this.#peer.requestEncoded(this.#to, encoded, options, onId));
  }

  /**
   * Aborts running handlers, rejects the requests still waiting for this
   * client (as a closed connection does), and forgets the client in the
   * server transport.
   */
  protected ended(): void {
    this.#abort.abort();
    const gone = new HopwireError(ErrorCode.NOT_CONNECTED, `the client ${this.key} is gone`);
    for (const id of [...this.#waiting]) this.#peer.cancel(id, gone);
    this.#waiting.clear();
    this.#gone(this);
  }

  #track(request: (onId: (id: number) => void) => Promise<unknown>): Promise<unknown> {
    const refusal = this.refuseSend();
    if (refusal !== undefined) return Promise.reject(refusal);
    let id = 0;
    return request((n) => {
      id = n;
      this.#waiting.add(n);
    }).finally(() => {
      this.#waiting.delete(id);
    });
  }
}
