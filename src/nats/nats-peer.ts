/**
 * One side's presence on NATS, shared by the client transport and the
 * server transport: its inbox, the requests it waits for, and how it
 * publishes frames, reads them and answers requests.
 *
 * Every payload it publishes carries a reply subject in its own inbox
 * (`<inbox>.m`, or `<inbox>.<id>` for a request), so whoever receives it
 * knows where to answer.
 *
 * @module
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { EncodedValue } from '../codec.js';
import { type ConnectionSettings, NO_HANDLER, type ReceiveMeta } from '../connection-types.js';
import { decodeFrameValue } from '../datagram.js';
import { guarded } from './connect.js';
import { debug } from '../debug.js';
import { ErrorCode, HopwireError, toError } from '../errors.js';
import { type Frame, FrameKind } from '../frame.js';
import { PendingRequests } from '../pending-requests.js';
import { remoteError } from '../remote-error.js';
import { isStream } from '../sockhop-peer.js';
import { type ConnectionCounters, newCounters } from '../stats.js';
import type { RequestOptions } from '../types.js';
import { encodeValue, errorFramePayload, readPayload, valuePayload } from './frames.js';
import { directSubject, inboxToken, replySubject } from './subjects.js';

/** The NATS status code of a "no responders" answer to a request. */
const NO_RESPONDERS = 503;

/** The `max_payload` NATS servers have unless configured otherwise. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** Where a delivered MESSAGE or REQUEST goes. */
export interface Receiver {
  /** A message arrived; `reply` answers its sender (absent: the receiver knows how). */
  onMessage(value: unknown, meta: ReceiveMeta, reply?: (value: unknown) => Promise<void>): void;
  /** A request arrived: the reply, a promise of it, or `NO_HANDLER`. */
  onRequest(value: unknown, meta: ReceiveMeta, signal: AbortSignal): unknown;
  /** A listener threw. */
  onListenerError(err: unknown): void;
  /** Aborted when the receiver goes away while a handler runs. */
  readonly signal: AbortSignal;
}

/** One side's inbox, requests and publishing on a NATS connection. */
export class NatsPeer {
  /** Messages, bytes and requests, both ways. */
  readonly counters: ConnectionCounters;
  /** This side's inbox prefix. */
  readonly inbox: string;
  /** Where answers to this side's messages go (`<inbox>.m`). */
  readonly replyTo: string;
  readonly #nc: NatsConnection;
  readonly #settings: ConnectionSettings;
  readonly #pending: PendingRequests;
  readonly #sub: Subscription;

  /**
   * Subscribes to the inbox. Replies to this side's requests are settled
   * here; everything else that reaches `<inbox>.m` goes to `onDirect`.
   * What moves is counted in `counters` (a server passes its own).
   */
  constructor(nc: NatsConnection, settings: ConnectionSettings, inbox: string, onDirect: (msg: Msg, frame: Frame) => void, counters = newCounters()) {
    this.counters = counters;
    this.#nc = nc;
    this.#settings = settings;
    this.inbox = inbox;
    this.replyTo = directSubject(inbox);
    this.#pending = new PendingRequests({
      maxPending: settings.maxPendingRequests,
      onTimeout: () => {
        this.counters.requestsTimedOut++;
      },
    });
    this.#sub = nc.subscribe(`${inbox}.>`, {
      callback: guarded((err, msg) => {
        if (err !== null) {
          debug('NATS inbox subscription: %s', err.message);
          return;
        }
        const token = inboxToken(msg.subject, inbox);
        if (typeof token === 'number') {
          this.#onReply(msg, token);
          return;
        }
        const frame = token === 'm' ? this.read(msg) : undefined;
        if (frame !== undefined) onDirect(msg, frame);
      }),
    });
  }

  /** The largest payload the connected NATS server takes. */
  get maxPayload(): number {
    return this.#nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
  }

  /** Requests waiting for a reply. */
  get pendingRequests(): number {
    return this.#pending.size;
  }

  /**
   * Publishes a value in a MESSAGE frame to `subject`; resolves once the
   * NATS client has taken it (it buffers while reconnecting).
   *
   * @throws HopwireError `ERR_PAYLOAD_TOO_LARGE`, `ERR_ENCODE`,
   * `ERR_UNSUPPORTED` (a function inside), `ERR_NOT_CONNECTED` (the NATS connection is closed)
   */
  send(subject: string, value: unknown): Promise<void> {
    try {
      this.publish(subject, this.encode(value));
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(toError(err));
    }
  }

  /** Encodes a value in a MESSAGE payload. @throws as {@link send} */
  encode(value: unknown): Buffer {
    return valuePayload(FrameKind.MESSAGE, encodeValue(this.#settings.codec, value), 0, this.maxPayload);
  }

  /** Publishes a payload made by {@link encode}. @throws HopwireError `ERR_NOT_CONNECTED` */
  publish(subject: string, payload: Buffer, reply = this.replyTo): void {
    try {
      this.#nc.publish(subject, payload, { reply });
    } catch (err) {
      throw new HopwireError(ErrorCode.NOT_CONNECTED, `cannot publish to NATS: ${toError(err).message}`, { cause: err });
    }
    this.counters.messagesOut++;
    this.counters.bytesOut += payload.length;
  }

  /**
   * Publishes a REQUEST frame to `subject` and resolves with the reply; the
   * timeout and the abort signal work as on a stream connection. A request
   * no one is subscribed to rejects with `ERR_NO_HANDLER` at once.
   */
  request(subject: string, value: unknown, options: RequestOptions, onId?: (id: number) => void): Promise<unknown> {
    let e: EncodedValue;
    try {
      e = encodeValue(this.#settings.codec, value);
    } catch (err) {
      return Promise.reject(toError(err));
    }
    return this.requestEncoded(subject, e, options, onId);
  }

  /**
   * {@link request} for an already encoded value (proxies). `onId` learns
   * the request's id, for {@link cancel}.
   */
  requestEncoded(subject: string, e: EncodedValue, options: RequestOptions, onId?: (id: number) => void): Promise<unknown> {
    let entry;
    try {
      entry = this.#pending.add(options.timeout ?? this.#settings.requestTimeout, options.signal);
    } catch (err) {
      return Promise.reject(toError(err));
    }
    onId?.(entry.id);
    try {
      this.publish(subject, valuePayload(FrameKind.REQUEST, e, entry.id, this.maxPayload), replySubject(this.inbox, entry.id));
      this.counters.requestsSent++;
    } catch (err) {
      this.#pending.reject(entry.id, toError(err));
    }
    return entry.promise;
  }

  /** Rejects request `id` with `err` if it still waits (its session ended). */
  cancel(id: number, err: Error): void {
    this.#pending.reject(id, err);
  }

  /** Reads a received payload; a bad one is counted, logged and `undefined`. */
  read(msg: Msg): Frame | undefined {
    this.counters.bytesIn += msg.data.length;
    if (msg.data.length === 0) return undefined; // a NATS status (no responders to a message): nothing of ours
    try {
      return readPayload(msg.data, this.#settings);
    } catch (err) {
      this.counters.decodeErrors++;
      debug('dropped a NATS message on %s: %s', msg.subject, toError(err).message);
      return undefined;
    }
  }

  /** Hands a MESSAGE to the receiver, or answers a REQUEST; other frames are dropped. */
  deliver(msg: Msg, frame: Frame, to: Receiver, reply?: (value: unknown) => Promise<void>): void {
    if (frame.kind === FrameKind.REQUEST) {
      this.#answer(msg.reply, frame, to);
      return;
    }
    if (frame.kind !== FrameKind.MESSAGE) {
      debug('dropped a NATS message of frame kind %d on %s', frame.kind, msg.subject);
      return;
    }
    let received;
    try {
      received = decodeFrameValue(this.#settings.codec, frame);
    } catch (err) {
      this.counters.decodeErrors++;
      debug('dropped a NATS message on %s: %s', msg.subject, toError(err).message);
      return;
    }
    this.counters.messagesIn++;
    try {
      to.onMessage(received.value, received.meta, reply);
    } catch (err) {
      to.onListenerError(err);
    }
  }

  /** Rejects every waiting request with `err`. */
  rejectAll(err: Error): void {
    this.#pending.rejectAll(err);
  }

  /** Stops listening to the inbox and rejects what still waits. */
  close(err: Error): void {
    this.#pending.rejectAll(err);
    if (!this.#nc.isClosed()) this.#sub.unsubscribe();
  }

  #onReply(msg: Msg, id: number): void {
    this.counters.bytesIn += msg.data.length;
    if (!this.#pending.has(id)) {
      debug('reply for unknown request %d dropped', id);
      return;
    }
    if (msg.data.length === 0 && noResponders(msg)) {
      this.counters.requestsFailed++;
      this.#pending.reject(id, new HopwireError(ErrorCode.NO_HANDLER, 'no server is subscribed to the subject (NATS: no responders)'));
      return;
    }
    let frame: Frame;
    try {
      frame = readPayload(msg.data, this.#settings);
      if (frame.kind === FrameKind.ERROR) {
        this.counters.requestsFailed++;
        this.#pending.reject(id, remoteError(frame.payload));
        return;
      }
      if (frame.kind !== FrameKind.REPLY) throw new HopwireError(ErrorCode.PROTOCOL, `a reply of frame kind ${frame.kind}`);
      const { value } = decodeFrameValue(this.#settings.codec, frame);
      if (this.#pending.resolve(id, value)) this.counters.requestsAnswered++;
    } catch (err) {
      this.counters.decodeErrors++;
      this.#pending.reject(id, toError(err));
    }
  }

  /** Runs the handler for a request and publishes its reply (or error) to `reply`. */
  #answer(reply: string | undefined, frame: Frame, to: Receiver): void {
    if (reply === undefined) {
      debug('dropped a NATS request without a reply subject');
      return;
    }
    let result: unknown;
    try {
      const { value, meta } = decodeFrameValue(this.#settings.codec, frame);
      this.counters.messagesIn++;
      result = to.onRequest(value, meta, to.signal);
    } catch (err) {
      this.#fail(reply, frame.id, err);
      return;
    }
    if (result === NO_HANDLER) {
      this.#fail(reply, frame.id, new HopwireError(ErrorCode.NO_HANDLER, 'the peer has no request handler'));
      return;
    }
    Promise.resolve(result).then(
      (value) => {
        if (isStream(value)) {
          this.#fail(reply, frame.id, new HopwireError(ErrorCode.UNSUPPORTED, 'a stream reply is not available over NATS'));
          return;
        }
        let payload: Buffer;
        try {
          payload = valuePayload(FrameKind.REPLY, encodeValue(this.#settings.codec, value), frame.id, this.maxPayload);
        } catch (err) {
          this.#fail(reply, frame.id, err);
          return;
        }
        this.#respond(reply, payload);
      },
      (err: unknown) => {
        this.#fail(reply, frame.id, err);
      },
    );
  }

  #fail(reply: string, id: number, err: unknown): void {
    this.#respond(reply, errorFramePayload(id, err, this.#settings.sendErrorStacks));
  }

  #respond(reply: string, payload: Buffer): void {
    this.counters.requestsHandled++;
    try {
      this.publish(reply, payload);
    } catch (err) {
      debug('could not answer a NATS request: %s', toError(err).message);
    }
  }
}

/** NATS' "no responders" status on an empty reply. Headers come from the wire: a malformed one is simply not that status. */
function noResponders(msg: Msg): boolean {
  try {
    return msg.headers?.code === NO_RESPONDERS;
  } catch {
    return false;
  }
}
