/**
 * One connection's JSON-lines side, once its framing is known to be lines:
 * the line decoder, and where each line goes — the sockhop envelope
 * (`envelope: 'sockhop'`), JSON-RPC (`jsonRpc`), or the owner's listeners as
 * a plain message. An invalid line is answered with an error line, or closes
 * the connection (`invalidLines: 'close'`). The connection owns the socket
 * and the state; this class turns bytes into lines and lines into calls.
 *
 * @module
 */
import type { ConnectionSettings, ReceiveMeta } from './connection-types.js';
import { debug } from './debug.js';
import { ErrorCode, HopwireError, toError } from './errors.js';
import { JsonRpcPeer } from './json-rpc.js';
import { LineDecoder, encodeLine } from './line-decoder.js';
import type { PendingRequests } from './pending-requests.js';
import type { SocketWriter } from './socket-writer.js';
import { type SockhopChannel, SockhopPeer } from './sockhop-peer.js';
import type { ConnectionCounters } from './stats.js';

/** The settings a {@link LinesPeer} reads. */
export type LinesSettings = Pick<
  ConnectionSettings,
  'codec' | 'envelope' | 'jsonRpc' | 'invalidLines' | 'maxLineBytes' | 'receiveTerminator' | 'sendTerminator' | 'requestTimeout'
>;

/** What a {@link LinesPeer} needs from its connection. */
export interface LinesHost {
  /** The connection's table of requests waiting for replies (the dialects' requests wait there too). */
  readonly pending: PendingRequests;
  /** Aborted when the connection closes. */
  readonly signal: AbortSignal;
  /** True while the connection is ready: the rest of a chunk is dropped once it is closing. */
  isReady(): boolean;
  /** Why nothing can be sent now, or `undefined` when the connection can send. */
  refuseSend(): HopwireError | undefined;
  /** A sockhop line arrived: the peer is alive (the heartbeat). */
  alive(): void;
  /** Hands a message to the owner's listeners; `reply`, when given, answers the sender. */
  deliver(value: unknown, meta: ReceiveMeta, reply?: (value: unknown) => Promise<void>): void;
  /** Calls the owner's request handler for a dialect's request: its result, or `undefined` when there is none. */
  handle(value: unknown, meta: ReceiveMeta): { result: unknown } | undefined;
  /** The peer sent what ends the connection. */
  protocolError(err: unknown): void;
}

/** The JSON-lines side of one connection. */
export class LinesPeer {
  readonly #host: LinesHost;
  readonly #settings: LinesSettings;
  readonly #writer: SocketWriter;
  readonly #counters: ConnectionCounters;
  readonly #decoder: LineDecoder;
  readonly #sockhop: SockhopPeer | undefined;
  readonly #jsonRpc: JsonRpcPeer | undefined;

  /**
   * @param host - the connection's side
   * @param settings - terminators, limits, and which dialect the lines speak
   * @param writer - where lines are written
   * @param counters - where invalid lines are counted
   */
  constructor(host: LinesHost, settings: LinesSettings, writer: SocketWriter, counters: ConnectionCounters) {
    this.#host = host;
    this.#settings = settings;
    this.#writer = writer;
    this.#counters = counters;
    this.#decoder = new LineDecoder({ terminator: settings.receiveTerminator, maxLineBytes: settings.maxLineBytes });
    if (settings.envelope === 'sockhop') this.#sockhop = new SockhopPeer(this.#channel());
    else if (settings.jsonRpc) this.#jsonRpc = new JsonRpcPeer(this.#channel());
  }

  /** The sockhop dialect, with `envelope: 'sockhop'`: it alone has pings and request streams. */
  get sockhop(): SockhopPeer | undefined {
    return this.#sockhop;
  }

  /** The dialect that carries requests (sockhop's remote callbacks, or JSON-RPC); `undefined` for plain lines. */
  get requests(): SockhopPeer | JsonRpcPeer | undefined {
    return this.#sockhop ?? this.#jsonRpc;
  }

  /** Handles the lines a chunk of bytes completes. */
  receive(chunk: Buffer): void {
    let results;
    try {
      results = this.#decoder.push(chunk);
    } catch (err) {
      this.#host.protocolError(err);
      return;
    }
    for (const r of results) {
      if (!this.#host.isReady()) return;
      if (r.ok && this.#sockhop !== undefined) {
        this.#receiveSockhop(r.value, this.#sockhop);
      } else if (r.ok && this.#jsonRpc?.receive(r.value) === true) {
        // a JSON-RPC request, notification or response: handled
      } else if (r.ok) {
        this.#host.deliver(r.value, { type: '', known: false, unknownTypes: [], protocol: 'lines' });
      } else {
        debug('lines peer sent invalid JSON: %s', r.error.message);
        this.#counters.decodeErrors++;
        if (this.#settings.invalidLines === 'close') {
          this.#host.protocolError(r.error);
          return;
        }
        if (this.#jsonRpc !== undefined) {
          this.#writer.writeNow([encodeLine(JsonRpcPeer.parseError(r.error.message), this.#settings.sendTerminator)]);
          continue;
        }
        this.writeError(r.error);
      }
    }
  }

  /** Sends a sockhop ping line (nothing without the sockhop envelope). */
  ping(): void {
    if (this.#sockhop !== undefined) this.#writeLine(this.#sockhop.ping()).catch(() => undefined);
  }

  /** Writes an error line, `{ error, code }`, without waiting: an invalid line's answer, or why the connection closes. */
  writeError(error: HopwireError): void {
    this.#writer.writeNow([encodeLine({ error: error.message, code: error.code }, this.#settings.sendTerminator)]);
  }

  #receiveSockhop(line: unknown, peer: SockhopPeer): void {
    this.#host.alive();
    try {
      peer.receive(line);
    } catch (err) {
      const error = err instanceof HopwireError ? err : new HopwireError(ErrorCode.DECODE, String(err), { cause: err });
      debug('sockhop peer sent a line hopwire cannot use: %s', error.message);
      this.#writeLine({ type: 'SockhopError', data: { message: error.message, code: error.code } }).catch(() => undefined);
    }
  }

  #writeLine(obj: unknown): Promise<void> {
    try {
      return this.#writer.write([encodeLine(obj, this.#settings.sendTerminator)]);
    } catch (err) {
      return Promise.reject(toError(err));
    }
  }

  /** What the lines dialects (sockhop envelope, JSON-RPC) need from this connection. */
  #channel(): SockhopChannel {
    const meta = (type: string, known: boolean): ReceiveMeta => ({ type, known, unknownTypes: [], protocol: 'lines' });
    return {
      codec: this.#settings.codec,
      pending: this.#host.pending,
      requestTimeout: this.#settings.requestTimeout,
      signal: this.#host.signal,
      // Rejects once the connection is going: a streaming handler's loop stops there.
      writeLine: (obj) => {
        const refusal = this.#host.refuseSend();
        return refusal === undefined ? this.#writeLine(obj) : Promise.reject(refusal);
      },
      deliver: (value, type, known, reply) => {
        this.#host.deliver(value, meta(type, known), reply);
      },
      handle: (value, type, known) => this.#host.handle(value, meta(type, known)),
    };
  }
}
