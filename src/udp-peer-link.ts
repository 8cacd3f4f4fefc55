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
import type { ReceiveMeta } from './connection-types.js';
import { ErrorCode, HopwireError, toError } from './errors.js';
import { PeerLink } from './peer-link.js';
import type { SessionLink } from './session.js';
import type { LinkHost } from './transport.js';

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
export class UdpPeerLink extends PeerLink implements SessionLink {
  /** UDP has no hello. */
  readonly peerHello = undefined;
  /** Requests are not sent over UDP. */
  readonly pendingRequests = 0;
  readonly #out: PeerOutput;

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
    super(host, UNSUPPORTED_WHY);
    this.#out = out;
  }

  /** A datagram of `bytes` bytes from this peer held `value`. */
  received(value: unknown, meta: ReceiveMeta, bytes: number): void {
    this.counters.bytesIn += bytes;
    this.lastActivity = Date.now();
    if (!this.ready) return;
    this.counters.messagesIn++;
    try {
      this.host.onMessage(value, meta, 0);
    } catch (err) {
      this.host.onListenerError(err);
    }
  }

  /** Sends one message in one datagram; resolves when handed to the OS. */
  send(value: unknown): Promise<void> {
    const refusal = this.refuseSend();
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
    const refusal = this.refuseSend();
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
    return Promise.reject(this.unsupported('session.request()'));
  }

  /** Rejects with `ERR_UNSUPPORTED`: UDP does not carry requests (proxies, remote functions). */
  requestEncoded(): Promise<unknown> {
    return Promise.reject(this.unsupported('session.proxy()'));
  }

  /** Forgets the peer in the server transport. */
  protected ended(): void {
    this.#out.gone(this);
  }
}

const UNSUPPORTED_WHY = 'over UDP: requests need a reply channel UDP does not promise (see docs/udp.md)';
