/**
 * The client side of `transport: 'udp'`: one datagram socket connected to
 * the server's address, so the OS delivers only the server's datagrams to
 * it. No hello, no heartbeat, no reconnect, no offline queue: `connect()`
 * binds and resolves, `send()` hands one datagram to the OS.
 *
 * When nothing listens at the server's port, the OS may report it (an ICMP
 * "port unreachable" for an earlier datagram) as `ECONNREFUSED`: that is
 * emitted as the client's `error` event (when something listens), never
 * turned into a rejection of a later `send()`, and the client stays
 * connected.
 *
 * @module
 */
import type { Socket as DgramSocket } from 'node:dgram';
import { type DatagramLimits, datagramLimit, readDatagram, writeDatagram } from './datagram.js';
import { debug } from './debug.js';
import { ErrorCode, clientClosedError, HopwireError, rethrow, toError } from './errors.js';
import { type ConnectionCounters, newCounters } from './stats.js';
import type { ClientTransport, ClientTransportHost } from './transport.js';
import type { SendOptions } from './types.js';
import { openSocket, resolveHost, sendDatagram } from './udp-socket.js';

/**
 * The error an OS reports about an earlier datagram (an ICMP "port
 * unreachable"), on some systems from the next send: not about the send at hand.
 */
const PORT_UNREACHABLE = 'ECONNREFUSED';

/** The UDP transport of a client. */
export class UdpClientTransport implements ClientTransport {
  /** Messages and bytes, both ways; datagrams dropped count in `decodeErrors`. */
  readonly counters: ConnectionCounters = newCounters();
  /** Requests are not sent over UDP. */
  readonly pendingRequests = 0;
  readonly #host: ClientTransportHost;
  #socket: DgramSocket | undefined;
  #limits: DatagramLimits | undefined;
  #state: 'idle' | 'connecting' | 'connected' | 'closed' = 'idle';

  /** @param host - the client */
  constructor(host: ClientTransportHost) {
    this.#host = host;
  }

  /** True from `connect()` until `close()`. */
  get connected(): boolean {
    return this.#state === 'connected';
  }

  /**
   * Opens a socket of the server's address family and connects it (no
   * packet is sent). Resolves at once; nothing tells whether a server
   * listens.
   *
   * @throws HopwireError `ERR_NOT_CONNECTED` when the host does not resolve
   * or the socket cannot be opened, `ERR_CLOSED` after `close()`
   */
  async connect(): Promise<void> {
    if (this.#state === 'connected') return;
    if (this.#state === 'closed') throw clientClosedError();
    const endpoint = this.#host.options.endpoint;
    if ('path' in endpoint) throw new HopwireError(ErrorCode.INVALID_OPTION, 'transport: "udp" needs a port, not a path');
    this.#state = 'connecting';
    let socket: DgramSocket | undefined;
    try {
      const { address, family } = await resolveHost(endpoint.host);
      if (this.#isClosed()) throw clientClosedError();
      socket = openSocket(family);
      const s = socket;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.connect(endpoint.port, address, () => {
          s.off('error', reject);
          resolve();
        });
      });
      if (this.#isClosed()) throw clientClosedError();
      const settings = this.#host.settings;
      this.#limits = {
        maxDatagramBytes: datagramLimit(family, this.#host.options.maxDatagramBytes),
        maxFrameBytes: settings.maxFrameBytes,
        maxAttachments: settings.maxAttachments,
      };
    } catch (err) {
      socket?.close();
      if (!this.#isClosed()) this.#state = 'idle';
      if (err instanceof HopwireError) throw err;
      const cause = toError(err);
      throw new HopwireError(ErrorCode.NOT_CONNECTED, `cannot open a UDP socket to ${endpoint.host}:${endpoint.port}: ${cause.message}`, { cause });
    }
    socket.on('error', (err) => {
      this.#onSocketError(err);
    });
    socket.on('message', (datagram) => {
      this.#onDatagram(datagram);
    });
    this.#socket = socket;
    this.#state = 'connected';
    debug('UDP client connected to %s:%d', endpoint.host, endpoint.port);
    this.#host.onConnect();
  }

  /**
   * Sends one message in one datagram; resolves when handed to the OS.
   *
   * @throws HopwireError `ERR_DATAGRAM_TOO_LARGE` (nothing sent),
   * `ERR_ENCODE`, `ERR_UNSUPPORTED` (`ack`, or a function inside),
   * `ERR_NOT_CONNECTED` before `connect()`, `ERR_CLOSED` after `close()`
   */
  send(value: unknown, options: SendOptions): Promise<void> {
    if (options.ack === true) {
      return Promise.reject(new HopwireError(ErrorCode.UNSUPPORTED, 'send({ ack: true }) is not available over UDP: nothing acknowledges a datagram (see docs/udp.md)'));
    }
    const socket = this.#socket;
    const limits = this.#limits;
    if (this.#state === 'closed') return Promise.reject(clientClosedError());
    if (this.#state !== 'connected' || socket === undefined || limits === undefined) {
      return Promise.reject(new HopwireError(ErrorCode.NOT_CONNECTED, 'not connected: call connect() first'));
    }
    let parts: Buffer[];
    try {
      parts = writeDatagram(this.#host.settings.codec, value, limits.maxDatagramBytes);
    } catch (err) {
      return Promise.reject(toError(err));
    }
    this.counters.messagesOut++;
    for (const p of parts) this.counters.bytesOut += p.length;
    return sendDatagram(socket, parts).catch((err: unknown) => {
      const error = toError(err) as NodeJS.ErrnoException;
      if (error.code !== PORT_UNREACHABLE) throw error;
      this.#onSocketError(error); // about an earlier datagram, not this one
    });
  }

  /** Rejects with `ERR_UNSUPPORTED`: UDP does not carry requests. */
  request(): Promise<unknown> {
    return Promise.reject(unsupported('request()'));
  }

  /** Rejects with `ERR_UNSUPPORTED`: UDP does not carry requests (proxies). */
  requestEncoded(): Promise<unknown> {
    return Promise.reject(unsupported('proxy()'));
  }

  /** Nothing to release: functions do not travel over UDP. */
  release(): boolean {
    return false;
  }

  /** Closes the socket; resolves once it is closed. */
  async close(): Promise<void> {
    this.#state = 'closed';
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined) await new Promise<void>((resolve) => socket.close(resolve));
  }

  /** Whether `close()` ran (also while `connect()` awaited). */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #onDatagram(datagram: Buffer): void {
    const limits = this.#limits;
    if (this.#state !== 'connected' || limits === undefined) return;
    this.counters.bytesIn += datagram.length;
    let received;
    try {
      received = readDatagram(datagram, this.#host.settings.codec, limits);
    } catch (err) {
      this.counters.decodeErrors++;
      debug('dropped a datagram of %d bytes from the server: %s', datagram.length, toError(err).message);
      return;
    }
    this.counters.messagesIn++;
    try {
      this.#host.onMessage(received.value, received.meta, (reply) => this.send(reply, {}));
    } catch (err) {
      rethrow(err); // a listener threw: uncaught, as from any EventEmitter
    }
  }

  #onSocketError(err: Error): void {
    debug('UDP client socket: %s', err.message);
    this.#host.emitError(err);
  }
}

function unsupported(what: string): HopwireError {
  return new HopwireError(ErrorCode.UNSUPPORTED, `${what} is not available over UDP: requests need a reply channel UDP does not promise (see docs/udp.md)`);
}
