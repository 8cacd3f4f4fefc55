/**
 * The server side of the `nats` option. The server joins the service's
 * queue group, so each request or message a client publishes reaches one
 * server of the group; it hears every client's hello and goodbye on the
 * control subject, and makes a {@link Session} per client (by its inbox),
 * forgotten after `ping.interval × (ping.misses + 1)` ms without a hello
 * or a message. `sendAll()` is one publish on the broadcast subject.
 *
 * @module
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { debug } from '../debug.js';
import { ErrorCode, HopwireError, toError } from '../errors.js';
import { type Frame, FrameKind } from '../frame.js';
import { PeerTable } from '../peer-table.js';
import type { Session } from '../session.js';
import { MAX_TIMER_DELAY } from '../timers.js';
import type { ServerTransport, ServerTransportHost } from '../transport.js';
import type { ListenAddress } from '../types.js';
import { closeNats, guarded, openNats, serverEndpoint, watchStatus } from './connect.js';
import { helloId, helloPayload } from './frames.js';
import { loadNats } from './loader.js';
import { NatsLink } from './nats-link.js';
import { NatsPeer } from './nats-peer.js';
import { broadcastSubject, controlSubject, queueGroup, senderOf } from './subjects.js';

/** The NATS transport of a server. */
export class NatsServerTransport implements ServerTransport {
  readonly #host: ServerTransportHost;
  readonly #subject: string;
  /** Clients by inbox, least recently heard from first. */
  readonly #links: PeerTable<NatsLink>;
  #nc: NatsConnection | undefined;
  #peer: NatsPeer | undefined;
  #closed = false;

  /** @param host - the server */
  constructor(host: ServerTransportHost) {
    this.#host = host;
    this.#subject = host.options.subject ?? '';
    const ping = host.options.ping;
    const ttl = ping === false ? MAX_TIMER_DELAY : Math.min(MAX_TIMER_DELAY, ping.interval * (ping.misses + 1));
    this.#links = new PeerTable(ttl, (link, silentMs) => {
      debug('NATS client %s silent for %d ms: dropped', link.key, silentMs);
      link.destroy({
        reason: 'ping-timeout',
        message: `nothing heard from ${link.key} for ${silentMs} ms`,
        error: new HopwireError(ErrorCode.PING_TIMEOUT, `the client sent no hello for ${silentMs} ms`),
      });
    });
  }

  /**
   * Connects to the cluster, joins the queue group, listens to the control
   * subject, and asks the clients already there to say hello.
   *
   * @returns the NATS server this server is connected to
   * @throws HopwireError `ERR_MISSING_DEPENDENCY`, `ERR_NOT_CONNECTED`
   */
  async listen(): Promise<ListenAddress> {
    const { createInbox } = await loadNats();
    const nc = await openNats({ nats: this.#host.options.nats ?? { servers: [] }, subject: this.#subject, role: 'server', reconnect: true, waitOnFirstConnect: false });
    try {
      return await this.#serve(nc, createInbox());
    } catch (err) {
      // The server keeps only transports that listen: this one must not leave its NATS connection open.
      this.#nc = undefined;
      this.#peer = undefined;
      await closeNats(nc, false);
      throw err;
    }
  }

  /** Subscribes on an open connection and starts watching it. */
  async #serve(nc: NatsConnection, inbox: string): Promise<ListenAddress> {
    this.#nc = nc;
    const peer = new NatsPeer(nc, this.#host.settings, inbox, (msg, frame) => {
      this.#fromClient(msg, frame);
    }, this.#host.counters);
    this.#peer = peer;
    const subject = this.#subject;
    nc.subscribe(subject, {
      queue: queueGroup(subject),
      callback: guarded((err, msg) => {
        const frame = err === null ? peer.read(msg) : undefined;
        if (frame !== undefined) this.#fromClient(msg, frame);
      }),
    });
    nc.subscribe(controlSubject(subject), {
      callback: guarded((err, msg) => {
        const frame = err === null ? peer.read(msg) : undefined;
        if (frame !== undefined) this.#onControl(msg, frame);
      }),
    });
    this.#askHello();
    await nc.flush();
    watchStatus(nc, {
      onDisconnect: (server) => {
        debug('NATS server %s:%d lost; the NATS client reconnects', server.host, server.port);
      },
      onReconnecting: () => undefined,
      onReconnect: () => {
        this.#askHello();
      },
      onError: (err) => {
        this.#host.emitError(err);
      },
    }).catch((err: unknown) => {
      debug('NATS status: %s', toError(err).message);
    });
    debug('NATS server on %s, subject %s, inbox %s', nc.getServer(), subject, peer.inbox);
    return serverEndpoint(nc.getServer());
  }

  /**
   * Publishes one message on the broadcast subject: every client of the
   * service gets it, whichever server it talks to.
   *
   * @returns the number of clients this server knows (the NATS server does not say how many got it)
   * @throws HopwireError `ERR_PAYLOAD_TOO_LARGE`, `ERR_ENCODE`: nothing sent
   */
  async sendAll(value: unknown, sessions: readonly Session[]): Promise<number> {
    const peer = this.#peer;
    if (peer === undefined) throw new HopwireError(ErrorCode.NOT_CONNECTED, 'the server is not listening');
    await peer.send(broadcastSubject(this.#subject), value);
    return sessions.length;
  }

  /** Forgets every client, rejects waiting requests and drains the NATS connection. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#links.stop();
    for (const link of this.#links.values()) link.destroy({ reason: 'closed', message: 'closed by this side (the server is shutting down)' });
    this.#peer?.close(new HopwireError(ErrorCode.CLOSED, 'the server was closed'));
    const nc = this.#nc;
    this.#nc = undefined;
    if (nc !== undefined) await closeNats(nc, true);
  }

  /** Asks every client of the service to say hello (a HELLO on the broadcast subject). */
  #askHello(): void {
    const peer = this.#peer;
    if (peer === undefined) return;
    try {
      peer.publish(broadcastSubject(this.#subject), helloPayload(FrameKind.HELLO, peer.inbox));
    } catch (err) {
      debug('NATS server hello: %s', toError(err).message);
    }
  }

  /** A request or message from a client, to the service or to this server's inbox. */
  #fromClient(msg: Msg, frame: Frame): void {
    this.#link(msg)?.received(msg, frame);
  }

  #onControl(msg: Msg, frame: Frame): void {
    if (frame.kind === FrameKind.GOODBYE) {
      const sender = senderOf(msg.reply);
      const link = sender === undefined ? undefined : this.#links.get(sender);
      link?.destroy({ reason: 'remote-closed', message: 'the client closed' });
      return;
    }
    if (frame.kind === FrameKind.HELLO) this.#link(msg)?.hello(helloId(frame));
  }

  /** The link of the client that sent `msg`, made when new; `undefined` when it cannot be (no sender, `maxConnections`). */
  #link(msg: Msg): NatsLink | undefined {
    const sender = senderOf(msg.reply);
    const peer = this.#peer;
    if (sender === undefined || peer === undefined || this.#closed) {
      debug('dropped a NATS message without a hopwire reply subject on %s', msg.subject);
      return undefined;
    }
    const known = this.#links.get(sender);
    if (known !== undefined) {
      this.#links.heard(known);
      return known;
    }
    if (this.#links.size >= this.#host.options.maxConnections) {
      this.#host.refuse();
      debug('dropped a NATS message from new client %s: maxConnections (%d) reached', sender, this.#host.options.maxConnections);
      return undefined;
    }
    let link: NatsLink | undefined;
    const session = this.#host.adopt((linkHost) => (link = new NatsLink(sender, linkHost, peer, (l) => {
      this.#links.forget(l);
    })));
    if (link === undefined) throw new Error('the server did not make the NATS link');
    debug('session %d: new NATS client %s', session.id, sender);
    this.#links.heard(link); // before `connect`: a listener may close the session at once
    link.start();
    return link;
  }
}
