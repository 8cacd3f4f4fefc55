/**
 * What the links of transports without a socket per peer (UDP, NATS) share:
 * a {@link SessionLink}'s life (new → ready → closed), its refusals, and the
 * features such links do not carry (request streams, functions).
 *
 * @module
 */
import { ErrorCode, HopwireError } from './errors.js';
import { MessageIterator } from './message-iterator.js';
import { type ConnectionCounters, newCounters } from './stats.js';
import type { LinkHost } from './transport.js';
import type { DisconnectInfo, Protocol } from './types.js';

/** The part of a UDP or NATS link that does not depend on the wire. */
export abstract class PeerLink {
  /** These transports carry binary frames. */
  readonly protocol: Protocol = 'binary';
  /** Sent at once: nothing waits in a buffer of the link. */
  readonly writableLength = 0;
  /** Functions are not sent over these transports. */
  readonly heldFunctions = 0;
  /** What this peer's session counted. */
  readonly counters: ConnectionCounters = newCounters();
  /** When the peer was last heard from (ms since the epoch). */
  lastActivity = Date.now();
  /** The session's side of the callbacks. */
  protected readonly host: LinkHost;
  readonly #why: string;
  #state: 'new' | 'ready' | 'closed' = 'new';
  #info: DisconnectInfo | undefined;

  /**
   * @param host - the session's callbacks
   * @param why - ends the message of what is not available (`over UDP: …`)
   */
  constructor(host: LinkHost, why: string) {
    this.host = host;
    this.#why = why;
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
      this.host.onReady();
    } catch (err) {
      this.host.onListenerError(err);
    }
  }

  /** An iterator that fails with `ERR_UNSUPPORTED`: request streams do not travel here. */
  requestStream(): AsyncIterableIterator<unknown> {
    const it = new MessageIterator<unknown>(1, () => undefined);
    it.fail(this.unsupported('session.requestStream()'));
    return it;
  }

  /** Nothing to release: functions do not travel here. */
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

  /** The link ended: the transport forgets it (called before the session hears of it). */
  protected abstract ended(): void;

  /** The error of a feature these links do not carry. */
  protected unsupported(what: string): HopwireError {
    return new HopwireError(ErrorCode.UNSUPPORTED, `${what} is not available ${this.#why}`);
  }

  /** Why a message sent now would be refused (see `Connection.writeRefusal`); nothing waits in a buffer here. */
  writeRefusal(): HopwireError | undefined {
    return this.refuseSend();
  }

  /** Why the link cannot send now, or `undefined` when it can. */
  protected refuseSend(): HopwireError | undefined {
    if (this.#state === 'ready') return undefined;
    if (this.#state === 'new') return new HopwireError(ErrorCode.NOT_CONNECTED, 'the session is not ready yet');
    return this.#info?.reason === 'closed'
      ? new HopwireError(ErrorCode.CLOSED, 'the session was closed')
      : new HopwireError(ErrorCode.NOT_CONNECTED, `the session is gone: ${this.#info?.message ?? 'closed'}`);
  }

  #end(info: DisconnectInfo): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#info = info;
    this.ended();
    this.host.onClose(info);
  }
}
