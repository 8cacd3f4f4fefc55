/**
 * The server side of one UDP peer: the {@link SessionLink} a {@link Session}
 * runs on when the server has `transport: 'udp'`. It has no socket of its
 * own: it writes datagrams to its peer's address through the server's
 * socket, and the server's socket hands it what the peer sends.
 *
 * Fire-and-forget only: requests, request streams and proxies need a reply
 * channel UDP does not promise, so they reject with `ERR_UNSUPPORTED`.
 *
 * @module
 */
import type { ReceiveMeta } from './connection.js';
import { ErrorCode, HopwireError, toError } from './errors.js';
import { MessageIterator } from './message-iterator.js';
import type { SessionLink } from './session.js';
import { type ConnectionCounters, newCounters } from './stats.js';
import type { LinkHost } from './transport.js';
import type { DisconnectInfo, Protocol } from './types.js';

/** What a peer link needs from the server transport. */
export interface PeerOutput {
  /** Sends one datagram to `port` at `address`. */
  send(parts: Buffer[], port: number, address: string): Promise<void>;
  /** Encodes a message as one datagram of at most `maxBytes`. */
  encode(value: unknown, maxBytes: number): Buffer[];
  /** The link ended: forget the peer. */
  gone(link: UdpPeerLink): void;
}

/** One UDP peer of a server, as its session sees it. */
export class UdpPeerLink implements SessionLink {
  /** Datagrams carry binary frames. */
  readonly protocol: Protocol = 'binary';
  /** UDP has no hello. */
  readonly peerHello = undefined;
  /** Datagrams are not buffered: each send goes to the OS at once. */
  readonly writableLength = 0;
  /** Requests are not sent over UDP. */
  readonly pendingRequests = 0;
  /** Functions are not sent over UDP. */
  readonly heldFunctions = 0;
  /** What this peer's session counted. */
  readonly counters: ConnectionCounters = newCounters();
  /** When the last datagram of this peer arrived (ms since the epoch). */
  lastActivity = Date.now();
  readonly #host: LinkHost;
  readonly #out: PeerOutput;
  #state: 'new' | 'ready' | 'closed' = 'new';
  #info: DisconnectInfo | undefined;

  /**
   * @param remoteAddress - the peer's IP address
   * @param remotePort - the peer's port
   * @param key - how the server transport finds this peer
   * @param maxBytes - the largest datagram for this peer (an IPv4 peer of a dual-stack socket takes less)
   */
  constructor(
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly key: string,
    readonly maxBytes: number,
    host: LinkHost,
    out: PeerOutput,
  ) {
    this.#host = host;
    this.#out = out;
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

  /** A datagram of `bytes` bytes from this peer held `value`. */
  received(value: unknown, meta: ReceiveMeta, bytes: number): void {
    this.counters.bytesIn += bytes;
    this.lastActivity = Date.now();
    if (this.#state !== 'ready') return;
    this.counters.messagesIn++;
    try {
      this.#host.onMessage(value, meta, 0);
    } catch (err) {
      this.#host.onListenerError(err);
    }
  }

  /** Sends one message in one datagram; resolves when handed to the OS. */
  send(value: unknown): Promise<void> {
    const refusal = this.#refuseSend();
    if (refusal !== undefined) return Promise.reject(refusal);
    let parts: Buffer[];
    try {
      parts = this.#out.encode(value, this.maxBytes);
    } catch (err) {
      return Promise.reject(toError(err));
    }
    return this.sendEncoded(parts);
  }

  /** Encodes a message as one datagram. @throws HopwireError `ERR_DATAGRAM_TOO_LARGE`, `ERR_ENCODE` */
  encodeMessage(value: unknown): Buffer[] {
    return this.#out.encode(value, this.maxBytes);
  }

  /** Sends a datagram made by {@link encodeMessage}. */
  sendEncoded(parts: Buffer[]): Promise<void> {
    const refusal = this.#refuseSend();
    if (refusal !== undefined) return Promise.reject(refusal);
    let size = 0;
    for (const p of parts) size += p.length;
    if (size > this.maxBytes) {
      return Promise.reject(new HopwireError(ErrorCode.DATAGRAM_TOO_LARGE, `a datagram of ${size} bytes is too large for ${this.key} (at most ${this.maxBytes})`));
    }
    this.counters.messagesOut++;
    this.counters.bytesOut += size;
    return this.#out.send(parts, this.remotePort, this.remoteAddress);
  }

  /** Rejects with `ERR_UNSUPPORTED`: UDP does not carry requests. */
  request(): Promise<unknown> {
    return Promise.reject(unsupported('session.request()'));
  }

  /** Rejects with `ERR_UNSUPPORTED`: UDP does not carry requests (proxies, remote functions). */
  requestEncoded(): Promise<unknown> {
    return Promise.reject(unsupported('session.proxy()'));
  }

  /** An iterator that fails with `ERR_UNSUPPORTED`: UDP does not carry requests. */
  requestStream(): AsyncIterableIterator<unknown> {
    const it = new MessageIterator<unknown>(1, () => undefined);
    it.fail(unsupported('session.requestStream()'));
    return it;
  }

  /** Nothing to release: functions do not travel over UDP. */
  release(): boolean {
    return false;
  }

  /** Forgets the peer (nothing is sent to it); resolves at once. */
  close(why = 'closing'): Promise<void> {
    this.#end({ reason: 'closed', message: `closed by this side (${why})` });
    return Promise.resolve();
  }

  /** Forgets the peer, with the reason given. */
  destroy(info: DisconnectInfo = { reason: 'closed', message: 'destroyed by this side' }): void {
    this.#end(info);
  }

  #end(info: DisconnectInfo): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#info = info;
    this.#out.gone(this);
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

function unsupported(what: string): HopwireError {
  return new HopwireError(ErrorCode.UNSUPPORTED, `${what} is not available over UDP: requests need a reply channel UDP does not promise (see docs/udp.md)`);
}
