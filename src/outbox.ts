/**
 * What a client sends, across reconnects: the offline queue (sends and
 * requests made while (re)connecting, flushed in order after the next hello)
 * and the acknowledged messages still waiting for their ACK (resent after a
 * reconnect until acknowledged). See `docs/delivery.md`.
 *
 * @module
 */
import type { Codec, EncodedValue } from './codec.js';
import type { Connection } from './connection.js';
import { encodeLinesMessage, frameOf } from './wire.js';
import { ErrorCode, HopwireError, toError } from './errors.js';
import { FrameKind } from './frame.js';
import { OfflineQueue, type OfflineQueueLimits } from './offline-queue.js';
import { createAbortError } from './pending-requests.js';
import { timerDelay } from './timers.js';
import type { Protocol, RequestOptions } from './types.js';

/** Settings of an {@link Outbox}. */
export interface OutboxSettings {
  readonly codec: Codec;
  readonly protocol: Protocol;
  readonly sendTerminator: string;
  readonly envelope: 'none' | 'sockhop';
  readonly requestTimeout: number;
  /** Offline queue limits, or false for no queue. */
  readonly queue: OfflineQueueLimits | false;
  /** Limits on messages sent with `ack` and not yet acknowledged. */
  readonly unacked: OfflineQueueLimits;
}

interface Settle<T> {
  resolve: (value: T) => void;
  reject: (err: Error) => void;
}

interface SendEntry extends Settle<undefined> {
  readonly kind: 'send';
  readonly bytes: number;
  readonly parts: Buffer[];
}

interface AckedEntry extends Settle<undefined> {
  readonly kind: 'acked';
  readonly bytes: number;
  readonly seq: number;
  readonly encoded: EncodedValue;
  /** Written on some connection at least once (so it is resent after a reconnect). */
  written: boolean;
}

interface RequestEntry extends Settle<unknown> {
  readonly kind: 'request';
  readonly bytes: number;
  readonly encoded: EncodedValue;
  /** When the request times out (ms since the epoch), or 0 for never. */
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  cleanup: () => void;
}

type Entry = SendEntry | AckedEntry | RequestEntry;

/** The sends and requests of one client that wait for a connection or an ACK. */
export class Outbox {
  readonly #settings: OutboxSettings;
  readonly #queue: OfflineQueue<Entry> | undefined;
  readonly #unacked = new Map<number, AckedEntry>();
  #unackedBytes = 0;
  #seq = 0;

  /** @param settings - codec, framing and limits */
  constructor(settings: OutboxSettings) {
    this.#settings = settings;
    if (settings.queue !== false) this.#queue = new OfflineQueue(settings.queue);
  }

  /** Entries waiting for a connection. */
  get queued(): number {
    return this.#queue?.size ?? 0;
  }

  /** Acknowledged-delivery messages waiting for their ACK. */
  get unacked(): number {
    return this.#unacked.size;
  }

  /**
   * Sends a message now on `conn`, or queues it when `conn` is undefined and
   * `canQueue` (the client is (re)connecting).
   */
  send(value: unknown, ack: boolean, conn: Connection | undefined, canQueue: boolean): Promise<void> {
    if (ack) return this.#sendAcked(value, conn, canQueue);
    if (conn !== undefined) return conn.send(value);
    if (!canQueue || this.#queue === undefined) return Promise.reject(notConnected());
    return this.#enqueue<undefined>((settle) => {
      const parts =
        this.#settings.protocol === 'lines'
          ? [encodeLinesMessage(this.#settings, value)]
          : frameOf(FrameKind.MESSAGE, this.#settings.codec.encode(value));
      return { kind: 'send', bytes: byteLength(parts), parts, ...settle };
    });
  }

  /** Sends a request now on `conn`, or queues it (its timeout keeps running). */
  request(value: unknown, options: RequestOptions, conn: Connection | undefined, canQueue: boolean, preEncoded?: EncodedValue): Promise<unknown> {
    if (conn !== undefined) return preEncoded === undefined ? conn.request(value, options) : conn.requestEncoded(preEncoded, options);
    if (!canQueue || this.#queue === undefined) return Promise.reject(notConnected());
    if (this.#settings.protocol === 'lines') {
      return Promise.reject(new HopwireError(ErrorCode.UNSUPPORTED, 'a JSON-lines server cannot answer requests'));
    }
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(createAbortError(signal.reason));
    const asked = options.timeout ?? this.#settings.requestTimeout;
    const timeout = timerDelay(asked);
    if (timeout === undefined) {
      return Promise.reject(new HopwireError(ErrorCode.INVALID_OPTION, `timeout must be a number ≥ 0, got ${String(asked)}`));
    }
    return this.#enqueue<unknown>((settle) => {
      const encoded = preEncoded ?? this.#settings.codec.encode(value);
      const entry: RequestEntry = {
        kind: 'request',
        bytes: encodedBytes(encoded),
        encoded,
        deadline: timeout > 0 ? Date.now() + timeout : 0,
        signal,
        cleanup: () => undefined,
        ...settle,
      };
      this.#guardQueued(entry, timeout);
      return entry;
    });
  }

  /** The peer acknowledged message `seq`. */
  onAck(seq: number): void {
    const entry = this.#unacked.get(seq);
    if (entry === undefined) return;
    this.#unacked.delete(seq);
    this.#unackedBytes -= entry.bytes;
    entry.resolve(undefined);
  }

  /**
   * A new connection is ready: resend the unacknowledged messages written
   * before, then everything queued, in order, before anything sent later.
   */
  flush(conn: Connection): void {
    if (!conn.peerCan('ack')) {
      // This server does not acknowledge: acked sends would wait forever.
      const err = new HopwireError(ErrorCode.UNSUPPORTED, 'the server does not acknowledge messages');
      for (const entry of this.#unacked.values()) entry.reject(err);
      this.#unacked.clear();
      this.#unackedBytes = 0;
    }
    for (const entry of this.#unacked.values()) {
      if (entry.written) this.#writeAcked(entry, conn);
    }
    for (const entry of this.#queue?.drain() ?? []) {
      switch (entry.kind) {
        case 'send':
          conn.sendEncoded(entry.parts).then(() => {
            entry.resolve(undefined);
          }, entry.reject);
          break;
        case 'acked':
          if (this.#unacked.has(entry.seq)) this.#writeAcked(entry, conn); // rejected above if unsupported
          break;
        case 'request': {
          entry.cleanup();
          const remaining = entry.deadline === 0 ? 0 : entry.deadline - Date.now();
          if (entry.deadline !== 0 && remaining <= 0) {
            entry.reject(timedOut(entry.deadline));
            break;
          }
          const options: RequestOptions = entry.signal === undefined ? { timeout: remaining } : { timeout: remaining, signal: entry.signal };
          conn.requestEncoded(entry.encoded, options).then(entry.resolve, entry.reject);
          break;
        }
      }
    }
  }

  /** Rejects everything waiting (close, or a connection that will not come back). */
  rejectAll(err: Error): void {
    for (const entry of this.#queue?.drain() ?? []) {
      if (entry.kind === 'request') entry.cleanup();
      entry.reject(err);
    }
    for (const entry of this.#unacked.values()) entry.reject(err);
    this.#unacked.clear();
    this.#unackedBytes = 0;
  }

  #sendAcked(value: unknown, conn: Connection | undefined, canQueue: boolean): Promise<void> {
    if (this.#settings.protocol === 'lines') {
      return Promise.reject(new HopwireError(ErrorCode.UNSUPPORTED, 'a JSON-lines server cannot acknowledge messages'));
    }
    if (conn !== undefined && !conn.peerCan('ack')) {
      return Promise.reject(new HopwireError(ErrorCode.UNSUPPORTED, 'the server does not acknowledge messages'));
    }
    if (conn === undefined && (!canQueue || this.#queue === undefined)) return Promise.reject(notConnected());
    let encoded: EncodedValue;
    try {
      encoded = this.#settings.codec.encode(value);
    } catch (err) {
      return Promise.reject(toError(err));
    }
    const bytes = encodedBytes(encoded);
    const limits = this.#settings.unacked;
    if (this.#unacked.size >= limits.maxMessages || this.#unackedBytes + bytes > limits.maxBytes) {
      return Promise.reject(new HopwireError(ErrorCode.QUEUE_FULL, `${this.#unacked.size} acknowledged messages (${this.#unackedBytes} bytes) are still waiting for their ACK`));
    }
    return new Promise<undefined>((resolve, reject) => {
      this.#seq = this.#seq >= 0xffff_ffff ? 1 : this.#seq + 1;
      const entry: AckedEntry = { kind: 'acked', bytes, seq: this.#seq, encoded, written: false, resolve, reject };
      if (conn === undefined) {
        try {
          this.#queue?.push(entry);
        } catch (err) {
          reject(toError(err));
          return;
        }
      }
      this.#unacked.set(entry.seq, entry);
      this.#unackedBytes += bytes;
      if (conn !== undefined) this.#writeAcked(entry, conn);
    });
  }

  #writeAcked(entry: AckedEntry, conn: Connection): void {
    entry.written = true;
    // A failed write is not the end: the message is resent after the reconnect.
    conn.sendAcked(entry.seq, entry.encoded).catch(() => undefined);
  }

  /** Builds an entry with the promise's settle functions and queues it; rejects with the build or queue error. */
  #enqueue<T>(build: (settle: Settle<T>) => Entry): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let entry: Entry | undefined;
      try {
        entry = build({ resolve, reject });
        this.#queue?.push(entry);
      } catch (err) {
        if (entry?.kind === 'request') entry.cleanup();
        reject(toError(err));
      }
    });
  }

  /** A queued request still times out and can still be aborted while it waits. */
  #guardQueued(entry: RequestEntry, timeout: number): void {
    const drop = (err: Error): void => {
      entry.cleanup();
      this.#queue?.remove(entry);
      entry.reject(err);
    };
    const timer = timeout > 0 ? setTimeout(() => { drop(timedOut(entry.deadline)); }, timeout) : undefined;
    timer?.unref();
    const onAbort = (): void => { drop(createAbortError(entry.signal?.reason)); };
    entry.signal?.addEventListener('abort', onAbort, { once: true });
    entry.cleanup = () => {
      if (timer !== undefined) clearTimeout(timer);
      entry.signal?.removeEventListener('abort', onAbort);
    };
  }
}

function notConnected(): HopwireError {
  return new HopwireError(ErrorCode.NOT_CONNECTED, 'not connected');
}

function timedOut(deadline: number): HopwireError {
  const late = Math.max(0, Date.now() - deadline);
  return new HopwireError(ErrorCode.REQUEST_TIMEOUT, `request timed out while waiting for a connection${late > 0 ? ` (${String(late)} ms past its deadline)` : ''}`);
}

function byteLength(parts: readonly Buffer[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

function encodedBytes(e: EncodedValue): number {
  let n = Buffer.byteLength(e.payload, 'utf8') + Buffer.byteLength(e.type, 'utf8');
  for (const a of e.attachments) n += a.byteLength;
  return n;
}
