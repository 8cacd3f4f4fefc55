/**
 * Serving the peer's requests on one connection: the handler (or the
 * function a call names) is called, and its answer goes back as a REPLY, a
 * stream of REPLY frames or an ERROR. Counts the handlers still running:
 * at `maxPendingRequests` it asks the connection to stop reading, so a peer
 * that sends requests faster than they are answered is held back by TCP.
 * Knows nothing of sockets: the connection reads and owns the state;
 * replies and errors go into the connection's socket writer without
 * waiting, and the items of a stream through the host, whose promise holds
 * the next item back until the last one was written.
 *
 * @module
 */
import type { EncodedValue } from './codec.js';
import { NO_HANDLER, type ReceiveMeta } from './connection-types.js';
import { debug } from './debug.js';
import { ErrorCode, HopwireError, toError } from './errors.js';
import { type Frame, FrameFlags, FrameKind, encodeFrame } from './frame.js';
import type { ResolvedCommon } from './options.js';
import type { PayloadCodec } from './payload-codec.js';
import { errorPayload } from './remote-error.js';
import { FN_CALL_TYPE } from './remote-functions.js';
import type { SocketWriter } from './socket-writer.js';
import { isStream } from './sockhop-peer.js';
import type { ConnectionCounters } from './stats.js';

/** What a {@link Responder} needs from its connection. */
export interface ResponderHost {
  /** True while the connection is ready: nothing is answered once it is closing. */
  isReady(): boolean;
  /** Calls the owner's request handler: the reply, a promise of it, or {@link NO_HANDLER}. May throw. */
  handle(value: unknown, meta: ReceiveMeta): unknown;
  /** Writes an encoded value as a frame; resolves when it reaches the OS (used for stream items, to wait between them). */
  writeValue(kind: FrameKind, e: EncodedValue<string | Buffer>, id: number, flags: number): Promise<void>;
  /** `maxPendingRequests` handlers are running: stop reading the socket. */
  pauseReads(): void;
  /** The running handlers are down to half: handle the frames held back, then read again. */
  resumeReads(): void;
}

/** Answers the requests of one connection's peer. */
export class Responder {
  readonly #host: ResponderHost;
  readonly #settings: Pick<ResolvedCommon, 'maxPendingRequests' | 'sendErrorStacks'>;
  readonly #writer: SocketWriter;
  readonly #payloads: PayloadCodec;
  readonly #counters: ConnectionCounters;
  /**
   * Handlers running: binary requests whose handler answered with a promise
   * not yet settled, and every request of a lines dialect until its answer
   * settled.
   */
  #running = 0;
  /** Reads are paused because `maxPendingRequests` handlers are running. */
  #saturated = false;

  /**
   * @param host - the connection's side
   * @param settings - the limit on running handlers, and whether errors carry stacks
   * @param writer - where replies and errors are written
   * @param payloads - decodes requests and encodes replies
   * @param counters - where handled requests are counted
   */
  constructor(
    host: ResponderHost,
    settings: Pick<ResolvedCommon, 'maxPendingRequests' | 'sendErrorStacks'>,
    writer: SocketWriter,
    payloads: PayloadCodec,
    counters: ConnectionCounters,
  ) {
    this.#host = host;
    this.#settings = settings;
    this.#writer = writer;
    this.#payloads = payloads;
    this.#counters = counters;
  }

  /** True while `maxPendingRequests` handlers run: the connection holds the frames that follow. */
  get saturated(): boolean {
    return this.#saturated;
  }

  /**
   * Serves a REQUEST frame: decodes it, calls the handler (or the function
   * it calls) and writes the answer, at once or when the handler's promise
   * settles.
   *
   * @throws HopwireError when the payload cannot be decoded (the connection closes)
   */
  serve(frame: Frame): void {
    const id = frame.id;
    const d = this.#payloads.decode(frame);
    if (this.#running >= this.#settings.maxPendingRequests) {
      this.#writeError(id, new HopwireError(ErrorCode.TOO_MANY_PENDING, `more than ${this.#settings.maxPendingRequests} requests in progress`));
      return;
    }
    const meta: ReceiveMeta = { type: d.type, known: d.known, unknownTypes: d.unknownTypes, protocol: 'binary' };
    let result: unknown;
    try {
      result = d.type === FN_CALL_TYPE && !d.known ? this.#payloads.callFunction(d.value) : this.#host.handle(d.value, meta);
    } catch (err) {
      this.#counters.requestsHandled++;
      this.#writeError(id, err);
      return;
    }
    if (result === NO_HANDLER) {
      this.#writeError(id, new HopwireError(ErrorCode.NO_HANDLER, 'the peer has no request handler'));
      return;
    }
    const wantsStream = (frame.flags & FrameFlags.STREAM) !== 0;
    if (!isThenable(result)) {
      // A handler that answered at once: no promise, no closures, the reply joins this tick's batch.
      this.#counters.requestsHandled++;
      this.#answer(id, result, wantsStream);
      return;
    }
    this.#handlerStarted();
    Promise.resolve(result).then(
      (reply) => {
        this.#handlerDone();
        this.#counters.requestsHandled++;
        this.#answer(id, reply, wantsStream);
      },
      (err: unknown) => {
        this.#handlerDone();
        this.#counters.requestsHandled++;
        this.#writeError(id, err);
      },
    );
  }

  /**
   * Calls the handler for a request of a JSON-lines dialect (sockhop
   * envelope, JSON-RPC), which writes the answer itself.
   *
   * @returns `{ result }`, a promise of the handler's result, or `undefined` when there is no handler
   */
  serveLine(value: unknown, meta: ReceiveMeta): { result: unknown } | undefined {
    let result: unknown;
    try {
      result = this.#host.handle(value, meta);
    } catch (err) {
      result = Promise.reject(toError(err));
    }
    if (result === NO_HANDLER) return undefined;
    // Counts against maxPendingRequests like binary requests: reads pause when saturated.
    this.#handlerStarted();
    const settled = Promise.resolve(result).finally(() => {
      this.#counters.requestsHandled++;
      this.#handlerDone();
    });
    return { result: settled };
  }

  /** Writes what a request handler answered: a reply, or the items of a stream. */
  #answer(id: number, reply: unknown, wantsStream: boolean): void {
    if (!isStream(reply)) this.#writeReply(id, reply);
    else if (wantsStream) void this.#writeStream(id, reply);
    else this.#writeError(id, new HopwireError(ErrorCode.UNSUPPORTED, 'the handler answered with a stream: call requestStream() for it'));
  }

  /**
   * Counts a running request handler. At `maxPendingRequests` running, the
   * socket stops reading: a peer that sends requests faster than the
   * handlers finish is held back by TCP instead of growing this process.
   */
  #handlerStarted(): void {
    this.#running++;
    if (this.#running >= this.#settings.maxPendingRequests && !this.#saturated) {
      debug('%d request handlers running: pausing reads', this.#running);
      this.#saturated = true;
      this.#host.pauseReads();
    }
  }

  #handlerDone(): void {
    this.#running--;
    if (!this.#saturated || this.#running > this.#settings.maxPendingRequests / 2 || !this.#host.isReady()) return;
    this.#saturated = false;
    this.#host.resumeReads();
  }

  /** Sends each item of a handler's stream as a REPLY with the STREAM flag, then a final REPLY. */
  async #writeStream(id: number, items: AsyncIterable<unknown> | Iterable<unknown>): Promise<void> {
    try {
      for await (const item of items) {
        if (!this.#host.isReady()) return;
        const e = this.#payloads.encode(item);
        await this.#host.writeValue(FrameKind.REPLY, e, id, FrameFlags.STREAM);
      }
      this.#writeReply(id, undefined);
    } catch (err) {
      this.#writeError(id, err);
    }
  }

  #writeReply(id: number, reply: unknown): void {
    if (!this.#host.isReady()) return; // the requester gets ERR_NOT_CONNECTED on its side
    try {
      this.#writer.writeValueNow(FrameKind.REPLY, this.#payloads.encode(reply), id, 0);
    } catch (err) {
      this.#writeError(id, err);
    }
  }

  #writeError(id: number, err: unknown): void {
    if (!this.#host.isReady()) return;
    const payload = JSON.stringify(errorPayload(err, this.#settings.sendErrorStacks));
    this.#writer.writeNow(encodeFrame({ kind: FrameKind.ERROR, id, payload }));
  }
}

/** True for a promise or any other object with a `then` method (what `await` would wait for). */
function isThenable(v: unknown): v is PromiseLike<unknown> {
  if ((typeof v !== 'object' && typeof v !== 'function') || v === null) return false;
  try {
    return typeof (v as { then?: unknown }).then === 'function';
  } catch {
    return true; // a `then` getter that throws: Promise.resolve() turns that into a rejection, answered as an error
  }
}
