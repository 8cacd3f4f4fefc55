/**
 * One connection's side of the sockhop 1.x dialect of JSON lines: what to do
 * with each incoming envelope, and how to send messages and requests in it.
 * The connection owns the socket; this class only turns envelopes into
 * deliveries, handler calls and replies. See `src/sockhop-envelope.ts` for
 * the wire itself.
 *
 * @module
 */
import type { Codec } from './codec.js';
import type { PendingRequests } from './pending-requests.js';
import type { MessageIterator } from './message-iterator.js';
import { randomUUID } from 'node:crypto';
import {
  SOCKHOP_ERROR_TYPE,
  type SockhopInbound,
  classifySockhop,
  sockhopCallbackReply,
  sockhopErrorData,
  sockhopMessage,
  sockhopPing,
  sockhopResponsePacket,
} from './sockhop-envelope.js';
import { ErrorCode, HopwireError, toError } from './errors.js';
import type { RequestOptions } from './types.js';

/** What a {@link SockhopPeer} needs from its connection. */
export interface SockhopChannel {
  readonly codec: Codec;
  readonly pending: PendingRequests;
  readonly requestTimeout: number;
  /** Aborted when the connection closes. */
  readonly signal: AbortSignal;
  /** Writes one object as a JSON line; resolves when written, rejects once the connection is going. */
  writeLine(obj: object): Promise<void>;
  /** Hands a message to the owner's listeners; `reply` answers the sender. */
  deliver(value: unknown, type: string, known: boolean, reply: (value: unknown) => Promise<void>): void;
  /** Calls the owner's request handler: its result, or `undefined` when there is none. */
  handle(value: unknown, type: string, known: boolean): { result: unknown } | undefined;
}

/** The sockhop dialect of one connection. */
export class SockhopPeer {
  readonly #channel: SockhopChannel;
  readonly #streams = new Map<string, MessageIterator<unknown>>();
  readonly #stops = new Map<string, () => void>();

  /** @param channel - the connection's side */
  constructor(channel: SockhopChannel) {
    this.#channel = channel;
  }

  /** A ping line for the heartbeat. */
  ping(): object {
    return sockhopPing();
  }

  /** A message line. */
  message(value: unknown, id?: string): object {
    const { type, data } = this.#channel.codec.toPlain(value);
    return sockhopMessage(type, data, id);
  }

  /** Sends a message that the peer answers through sockhop's remote callback. */
  request(value: unknown, options: RequestOptions = {}): Promise<unknown> {
    let plain: { type: string; data: unknown };
    let entry: { id: number; promise: Promise<unknown> };
    try {
      plain = this.#channel.codec.toPlain(value);
      entry = this.#channel.pending.add(options.timeout ?? this.#channel.requestTimeout, options.signal);
    } catch (err) {
      return Promise.reject(toError(err));
    }
    const { id, promise } = entry;
    this.#channel
      .writeLine(sockhopMessage(plain.type, plain.data, `hopwire-${id}`))
      .catch((err: unknown) => this.#channel.pending.reject(id, toError(err)));
    return promise;
  }

  /**
   * Sends a sockhop 1.8 request (`SockhopRequest`); each `SockhopResponsePacket`
   * for it goes into `into`, which ends with the packet marked `last`.
   */
  requestStream(value: unknown, into: MessageIterator<unknown>, options: RequestOptions = {}): void {
    const uuid = randomUUID();
    const { type, data } = this.#channel.codec.toPlain(value);
    this.#streams.set(uuid, into);
    const timeout = options.timeout ?? this.#channel.requestTimeout;
    const timer =
      timeout > 0 && timeout !== Infinity
        ? setTimeout(() => {
            this.#streams.delete(uuid);
            into.fail(new HopwireError(ErrorCode.REQUEST_TIMEOUT, `stream request timed out after ${String(timeout)} ms`));
          }, Math.min(timeout, 2 ** 31 - 1))
        : undefined;
    timer?.unref();
    const stop = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      this.#streams.delete(uuid);
    };
    this.#stops.set(uuid, stop);
    this.#channel.signal.addEventListener('abort', () => {
      stop();
      into.fail(new HopwireError(ErrorCode.NOT_CONNECTED, 'the connection closed during the stream'));
    }, { once: true });
    this.#channel.writeLine({ type: 'SockhopRequest', data: { uuid, type, data } }).catch((err: unknown) => {
      stop();
      into.fail(toError(err));
    });
  }

  /**
   * Handles one parsed line.
   *
   * @throws HopwireError `ERR_DECODE` when it is not a sockhop envelope, or
   * its data does not fit the registered class it names
   */
  receive(line: unknown): void {
    const inbound = classifySockhop(line);
    switch (inbound.kind) {
      case 'ping':
        void this.#channel.writeLine(inbound.pong).catch(() => undefined);
        return;
      case 'pong':
        return; // any line already counted as life
      case 'callback-reply':
        this.#onCallbackReply(inbound);
        return;
      case 'stream-packet': {
        const into = this.#streams.get(inbound.uuid);
        if (into === undefined) return; // a stray packet: dropped
        if (inbound.type === SOCKHOP_ERROR_TYPE) {
          const d = inbound.data as { message?: unknown } | null;
          this.#stops.get(inbound.uuid)?.();
          into.fail(new HopwireError(ErrorCode.REMOTE, typeof d?.message === 'string' ? d.message : 'remote error'));
          return;
        }
        into.push(this.#channel.codec.fromPlain(inbound.type, inbound.data).value);
        if (inbound.last) {
          this.#stops.get(inbound.uuid)?.();
          this.#stops.delete(inbound.uuid);
          into.end();
        }
        return;
      }
      case 'stream-request':
        this.#onStreamRequest(inbound);
        return;
      case 'message':
        this.#onMessage(inbound);
        return;
    }
  }

  #onCallbackReply(inbound: Extract<SockhopInbound, { kind: 'callback-reply' }>): void {
    const id = /^hopwire-(\d+)$/.exec(inbound.callbackId)?.[1];
    if (id === undefined) return;
    if (inbound.type === SOCKHOP_ERROR_TYPE) {
      const data = inbound.data as { message?: unknown; code?: unknown } | null;
      const message = typeof data?.message === 'string' ? data.message : 'remote error';
      const remote = typeof data?.code === 'string' ? { remoteCode: data.code } : {};
      this.#channel.pending.reject(Number(id), new HopwireError(ErrorCode.REMOTE, message, remote));
      return;
    }
    this.#channel.pending.resolve(Number(id), this.#channel.codec.fromPlain(inbound.type, inbound.data).value);
  }

  #onMessage(inbound: Extract<SockhopInbound, { kind: 'message' }>): void {
    const { value, known } = this.#channel.codec.fromPlain(inbound.type, inbound.data);
    const id = inbound.id;
    if (id === undefined) {
      this.#channel.deliver(value, inbound.type, known, (reply) => this.#channel.writeLine(this.message(reply)));
      return;
    }
    const answer = (reply: unknown): Promise<void> => {
      const { type, data } = this.#channel.codec.toPlain(reply);
      return this.#channel.writeLine(sockhopCallbackReply(id, type, data));
    };
    const handled = this.#channel.handle(value, inbound.type, known);
    if (handled === undefined) {
      // No handler: the message listeners answer the callback with ctx.reply().
      this.#channel.deliver(value, inbound.type, known, answer);
      return;
    }
    Promise.resolve(handled.result).then(answer, (err: unknown) =>
      this.#channel.writeLine(sockhopCallbackReply(id, SOCKHOP_ERROR_TYPE, sockhopErrorData(err))),
    ).catch(() => undefined);
  }

  #onStreamRequest(inbound: Extract<SockhopInbound, { kind: 'stream-request' }>): void {
    const { uuid } = inbound;
    const { value, known } = this.#channel.codec.fromPlain(inbound.type, inbound.data);
    const packet = (data: unknown, last: boolean): Promise<void> => {
      const plain = this.#channel.codec.toPlain(data);
      return this.#channel.writeLine(sockhopResponsePacket(uuid, plain.type, plain.data, last));
    };
    const fail = (err: unknown): Promise<void> =>
      this.#channel.writeLine(sockhopResponsePacket(uuid, SOCKHOP_ERROR_TYPE, sockhopErrorData(err), true));
    const handled = this.#channel.handle(value, inbound.type, known);
    if (handled === undefined) {
      void fail(new HopwireError(ErrorCode.NO_HANDLER, 'the peer has no request handler')).catch(() => undefined);
      return;
    }
    Promise.resolve(handled.result)
      .then(async (result) => {
        if (!isStream(result)) {
          await packet(result, true);
          return;
        }
        // Hold one item back so the last one can carry `last: true`.
        let held: { value: unknown } | undefined;
        for await (const item of result) {
          if (held !== undefined) await packet(held.value, false); // rejects once the connection goes: the loop ends
          held = { value: item };
          if (this.#channel.signal.aborted) throw new HopwireError(ErrorCode.CLOSED, 'the connection closed during the stream');
        }
        await packet(held === undefined ? {} : held.value, true);
      })
      .catch(fail)
      .catch(() => undefined);
  }
}

/** An async iterable or an iterator object (a generator): streamed packet by packet. Arrays, Maps and Sets are values. */
export function isStream(v: unknown): v is AsyncIterable<unknown> | Iterable<unknown> {
  if (typeof v !== 'object' || v === null) return false;
  if (Symbol.asyncIterator in v) return true;
  return Symbol.iterator in v && typeof (v as { next?: unknown }).next === 'function';
}
