/**
 * Values to frame payloads and back, for one connection: JSON, or
 * MessagePack once both hellos asked for it. Functions inside values go into
 * the connection's {@link RemoteFunctions} table on the way out and come in
 * as stand-ins that call the peer; a call from the peer is run here. Knows
 * nothing of sockets: the stand-ins send their calls through the connection.
 *
 * @module
 */
import type { DecodedValue, EncodedValue } from './codec.js';
import type { MsgpackCodec } from './codec-msgpack.js';
import { ErrorCode, HopwireError, toError } from './errors.js';
import { type Frame, FrameFlags } from './frame.js';
import { payloadText } from './frame-decoder.js';
import type { ResolvedCommon } from './options.js';
import { type AnyFunction, FN_CALL_TYPE, type RemoteFunctions } from './remote-functions.js';
import type { PayloadFormat } from './types.js';

/** Sends an encoded request to the peer; resolves with its reply. */
export type SendCall = (call: EncodedValue<string | Buffer>) => Promise<unknown>;

/** The payload format and the functions of one connection. */
export class PayloadCodec {
  readonly #settings: Pick<ResolvedCommon, 'codec' | 'msgpack'>;
  readonly #functions: RemoteFunctions;
  readonly #sendCall: SendCall;
  /** Set when both hellos asked for MessagePack payloads. */
  #msgpack: MsgpackCodec | undefined;

  /**
   * @param settings - the JSON codec, and the MessagePack one this side offers in its hello
   * @param functions - the connection's table of functions sent to the peer
   * @param sendCall - sends a call of a function the peer sent (a REQUEST)
   */
  constructor(settings: Pick<ResolvedCommon, 'codec' | 'msgpack'>, functions: RemoteFunctions, sendCall: SendCall) {
    this.#settings = settings;
    this.#functions = functions;
    this.#sendCall = sendCall;
  }

  /** The payload format agreed in the hello; `'json'` before it and for JSON-lines peers. */
  get format(): PayloadFormat {
    return this.#msgpack === undefined ? 'json' : 'msgpack';
  }

  /** The peer's hello asked for MessagePack: it is used from now on if this side offered it too. */
  useMsgpack(): void {
    this.#msgpack = this.#settings.msgpack;
  }

  readonly #export = (fn: AnyFunction): number => this.#functions.export(fn);

  /**
   * Encodes a value in the payload format agreed in the hello; its functions
   * go into the table, or to `functions` when given. A function made once,
   * so `request()` can hand it to `RemoteFunctions.collect`.
   */
  readonly encode = (value: unknown, functions: (fn: AnyFunction) => number = this.#export): EncodedValue<string | Buffer> => {
    const m = this.#msgpack;
    return m === undefined ? this.#settings.codec.encode(value, functions) : m.encode(value, functions);
  };

  /**
   * Decodes a MESSAGE, REQUEST or REPLY payload, JSON or (with the MSGPACK
   * flag, once agreed in the hello) MessagePack.
   *
   * @throws HopwireError `ERR_DECODE`, or `ERR_PROTOCOL` for MessagePack that was not agreed
   */
  decode(frame: Frame): DecodedValue {
    const tagged = (frame.flags & FrameFlags.TAGGED) !== 0;
    if ((frame.flags & FrameFlags.MSGPACK) === 0) return this.#settings.codec.decode(frame.type, payloadText(frame), frame.attachments, tagged, this.#import);
    const m = this.#msgpack;
    if (m === undefined) throw new HopwireError(ErrorCode.PROTOCOL, 'the peer sent a MessagePack payload, which the hello did not agree on');
    return m.decode(frame.type, frame.payload, frame.attachments, tagged, this.#import);
  }

  /** A stand-in for a function the peer sent: calling it runs the original on the peer. */
  readonly #import = (id: number) => (...args: unknown[]): Promise<unknown> => {
    let call: EncodedValue<string | Buffer>;
    try {
      call = { ...this.encode({ f: id, a: args }), type: FN_CALL_TYPE };
    } catch (err) {
      return Promise.reject(toError(err));
    }
    return this.#sendCall(call);
  };

  /**
   * The peer calls a function this side sent (a request of type
   * {@link FN_CALL_TYPE}): runs it and returns what it returned.
   *
   * @throws HopwireError `ERR_DECODE` for a malformed call, `ERR_RELEASED` for a released function
   */
  callFunction(call: unknown): unknown {
    const { f, a } = (typeof call === 'object' && call !== null ? call : {}) as { f?: unknown; a?: unknown };
    if (typeof f !== 'number' || !Array.isArray(a)) throw new HopwireError(ErrorCode.DECODE, 'malformed function call');
    return this.#functions.call(f, a);
  }
}
