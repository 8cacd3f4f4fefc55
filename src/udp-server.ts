/**
 * The server side of `transport: 'udp'`: one datagram socket; every address
 * and port that sends a valid datagram becomes a {@link Session}, forgotten
 * after `peerTimeout` ms of silence.
 *
 * A datagram that is not exactly one valid MESSAGE frame (see
 * `datagram.ts`), or whose value does not decode, is dropped: counted in the
 * server's `decodeErrors` (and `bytesIn`), logged with `NODE_DEBUG=hopwire`,
 * and it makes no session. Past `maxConnections` peers, datagrams from new
 * peers are dropped and counted in `connectionsRefused`.
 *
 * Peers are kept in a {@link PeerTable}: one `unref()`ed expiry timer,
 * armed only while there are peers.
 *
 * @module
 */
import type { RemoteInfo, Socket as DgramSocket } from 'node:dgram';
import { type DatagramLimits, datagramLimit, readDatagram, writeDatagram } from './datagram.js';
import { debug } from './debug.js';
import { ErrorCode, HopwireError, toError } from './errors.js';
import type { Session } from './session.js';
import type { ServerTransport, ServerTransportHost } from './transport.js';
import type { ListenAddress } from './types.js';
import { type PeerOutput, UdpPeerLink } from './udp-peer-link.js';
import { openSocket, resolveHost, sendDatagram } from './udp-socket.js';
import { PeerTable } from './peer-table.js';

/** The UDP transport of a server. */
export class UdpServerTransport implements ServerTransport {
  readonly #host: ServerTransportHost;
  #socket: DgramSocket | undefined;
  #limits: DatagramLimits | undefined;
  /** Peers by address and port, least recently heard from first. */
  readonly #peers: PeerTable<UdpPeerLink>;
  #closed = false;
  readonly #output: PeerOutput = {
    send: (parts, port, address) => {
      const socket = this.#socket;
      return socket === undefined ? Promise.reject(new HopwireError(ErrorCode.CLOSED, 'the server was closed')) : sendDatagram(socket, parts, port, address);
    },
    encode: (value, maxBytes) => writeDatagram(this.#host.settings.codec, value, maxBytes),
    gone: (link) => {
      this.#peers.forget(link);
    },
  };

  /** @param host - the server */
  constructor(host: ServerTransportHost) {
    this.#host = host;
    this.#peers = new PeerTable(host.options.peerTimeout, (link, silentMs) => {
      debug('UDP peer %s silent for %d ms: dropped', link.key, silentMs);
      link.destroy({ reason: 'idle', message: `nothing heard from ${link.key} for ${silentMs} ms (peerTimeout ${host.options.peerTimeout})` });
    });
  }

  /** Binds the socket (udp4 or udp6, by the host's family). */
  async listen(): Promise<ListenAddress> {
    const endpoint = this.#host.options.endpoint;
    if ('path' in endpoint) throw new HopwireError(ErrorCode.INVALID_OPTION, 'transport: "udp" needs a port, not a path');
    const { address, family } = await resolveHost(endpoint.host);
    const socket = openSocket(family);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ port: endpoint.port, address }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      socket.close();
      throw err;
    }
    const settings = this.#host.settings;
    this.#limits = {
      maxDatagramBytes: datagramLimit(family, this.#host.options.maxDatagramBytes),
      maxFrameBytes: settings.maxFrameBytes,
      maxAttachments: settings.maxAttachments,
    };
    socket.on('error', (err) => {
      debug('UDP server socket error: %s', err.message);
      this.#host.emitError(err);
    });
    socket.on('message', (datagram, from) => {
      this.#onDatagram(datagram, from);
    });
    this.#socket = socket;
    const bound = socket.address();
    debug('UDP server bound to %s:%d (largest datagram %d bytes)', bound.address, bound.port, this.#limits.maxDatagramBytes);
    return Object.freeze({ host: bound.address, port: bound.port });
  }

  /**
   * Encodes once and sends one datagram to each peer heard from within
   * `peerTimeout`. Resolves with the number of datagrams handed to the OS
   * (an IPv4 peer of a dual-stack socket is skipped when the datagram is
   * larger than IPv4 carries).
   *
   * @throws HopwireError `ERR_DATAGRAM_TOO_LARGE`, `ERR_ENCODE`: nothing sent
   */
  async sendAll(value: unknown, sessions: readonly Session[]): Promise<number> {
    const parts = writeDatagram(this.#host.settings.codec, value, this.#maxBytes());
    this.#peers.expire();
    const sends = sessions.map((s) =>
      s.connection.ready
        ? s.connection.sendEncoded(parts).then(
            () => 1,
            (err: unknown) => {
              debug('sendAll: datagram to session %d failed: %s', s.id, toError(err).message);
              return 0;
            },
          )
        : Promise.resolve(0),
    );
    let count = 0;
    for (const n of await Promise.all(sends)) count += n;
    return count;
  }

  /** Forgets every peer, stops the timer and closes the socket. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#peers.stop();
    for (const link of this.#peers.values()) link.destroy({ reason: 'closed', message: 'closed by this side (the server is shutting down)' });
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined) await new Promise<void>((resolve) => socket.close(resolve));
  }

  #maxBytes(): number {
    const limits = this.#limits;
    if (limits === undefined) throw new HopwireError(ErrorCode.NOT_CONNECTED, 'the server is not listening');
    return limits.maxDatagramBytes;
  }

  #onDatagram(datagram: Buffer, from: RemoteInfo): void {
    const limits = this.#limits;
    if (this.#closed || limits === undefined) return;
    let received;
    try {
      received = readDatagram(datagram, this.#host.settings.codec, limits);
    } catch (err) {
      this.#host.counters.bytesIn += datagram.length;
      this.#host.counters.decodeErrors++;
      debug('dropped a datagram of %d bytes from %s:%d: %s', datagram.length, from.address, from.port, toError(err).message);
      return;
    }
    const key = from.family === 'IPv6' ? `[${from.address}]:${from.port}` : `${from.address}:${from.port}`;
    let link = this.#peers.get(key);
    if (link === undefined) {
      if (this.#peers.size >= this.#host.options.maxConnections) {
        this.#host.counters.bytesIn += datagram.length;
        this.#host.refuse();
        debug('dropped a datagram from new peer %s: maxConnections (%d) reached', key, this.#host.options.maxConnections);
        return;
      }
      link = this.#adopt(key, from);
    } else {
      this.#peers.heard(link);
    }
    link.received(received.value, received.meta, datagram.length);
  }

  #adopt(key: string, from: RemoteInfo): UdpPeerLink {
    let link: UdpPeerLink | undefined;
    // An IPv4 peer of a dual-stack IPv6 socket (`::ffff:a.b.c.d`) is reached over IPv4.
    const family = from.family === 'IPv4' || /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(from.address) ? 4 : 6;
    const maxBytes = Math.min(this.#maxBytes(), datagramLimit(family, undefined));
    const session = this.#host.adopt((linkHost) => (link = new UdpPeerLink(from.address, from.port, key, maxBytes, linkHost, this.#output)));
    if (link === undefined) throw new Error('the server did not make the UDP link');
    debug('session %d: new UDP peer %s', session.id, key);
    this.#peers.heard(link); // before `connect`: a listener may close the session at once
    link.start(); // now that the session exists: its `connect` event
    return link;
  }
}
