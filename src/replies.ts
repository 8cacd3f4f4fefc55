/**
 * What comes back for this side's binary requests: a REPLY settles the
 * request in the pending table, an ERROR rejects it with the peer's error,
 * and the REPLY frames of a stream request (`requestStream()`) feed its
 * iterator until the final one. Knows nothing of sockets: the connection
 * sends the requests and hands over the frames.
 *
 * @module
 */
import { debug } from './debug.js';
import { toError } from './errors.js';
import { type Frame, FrameFlags } from './frame.js';
import type { MessageIterator } from './message-iterator.js';
import type { PayloadCodec } from './payload-codec.js';
import type { PendingRequests } from './pending-requests.js';
import { remoteError } from './remote-error.js';
import type { ConnectionCounters } from './stats.js';

/** The replies to one connection's requests. */
export class Replies {
  readonly #pending: PendingRequests;
  readonly #payloads: PayloadCodec;
  readonly #counters: ConnectionCounters;
  /** Requests answered with a stream: their items go here. */
  readonly #streams = new Map<number, MessageIterator<unknown>>();

  /**
   * @param pending - the connection's table of requests waiting for replies
   * @param payloads - decodes the replies
   * @param counters - where answered and failed requests are counted
   */
  constructor(pending: PendingRequests, payloads: PayloadCodec, counters: ConnectionCounters) {
    this.#pending = pending;
    this.#payloads = payloads;
    this.#counters = counters;
  }

  /** Sends the replies of request `id` into `into`, which ends (or fails) when the request settles (`promise`). */
  stream(id: number, promise: Promise<unknown>, into: MessageIterator<unknown>): void {
    this.#streams.set(id, into);
    promise.then(
      () => {
        this.#streams.delete(id);
        into.end();
      },
      (err: unknown) => {
        this.#streams.delete(id);
        into.fail(toError(err));
      },
    );
  }

  /**
   * A REPLY frame: settles its request, or is the next item of its stream.
   *
   * @throws HopwireError when the payload cannot be decoded (the request is rejected with it first)
   */
  reply(frame: Frame): void {
    if (!this.#pending.has(frame.id)) {
      debug('reply for unknown request %d dropped', frame.id);
      return;
    }
    let value: unknown;
    try {
      value = this.#payloads.decode(frame).value;
    } catch (err) {
      this.#pending.reject(frame.id, err as Error);
      throw err;
    }
    const stream = this.#streams.get(frame.id);
    if (stream !== undefined && (frame.flags & FrameFlags.STREAM) !== 0) {
      stream.push(value);
      return;
    }
    if (stream !== undefined && value !== undefined) stream.push(value); // the last item, if the final reply has one
    if (this.#pending.resolve(frame.id, value)) this.#counters.requestsAnswered++;
  }

  /** An ERROR frame: rejects its request with the peer's error. */
  error(frame: Frame): void {
    if (this.#pending.reject(frame.id, remoteError(frame.payload))) this.#counters.requestsFailed++;
    else debug('error reply for unknown request %d dropped', frame.id);
  }
}
