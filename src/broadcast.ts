/**
 * `sendAll()`: one message to many sessions without one slow reader holding
 * the others back or growing the server's memory. Broadcasts made in the same
 * tick share one batch: one wait, one lag timer, one event-loop turn, however
 * many calls and sessions.
 *
 * A session whose write buffer is past `slowConsumer.maxBytes` is
 * disconnected (`'disconnect'`), skipped and counted (`'drop'`), or waited
 * for (`'wait'`). A session whose write is still not done `lag` ms after the
 * batch is marked lagging: later broadcasts queue to it without waiting,
 * until one of its writes completes.
 *
 * @module
 */
import type { EncodedValue } from './codec.js';
import { debug } from './debug.js';
import { ErrorCode, HopwireError } from './errors.js';
import { FrameKind, encodePayloadFrameInto, maxFrameBytes } from './frame.js';
import type { ResolvedServerOptions } from './options.js';
import type { Session } from './session.js';
import { frameOf, payloadFlags } from './wire.js';

interface Batch {
  /** Per session, its first write of this tick, as the connection returned it. */
  readonly first: Map<Session, Promise<void>>;
  /** Per session, its write of this tick, settled (never rejects). */
  readonly writes: Map<Session, Promise<void>>;
  /** Sessions to wait for (not lagging when the batch started). */
  readonly waited: Set<Session>;
  readonly done: Promise<void>;
}

/** Frames up to this size are put in the shared chunk; bigger ones are written per session as they are. */
const SHARE_BELOW = 16 * 1024;
/** Size of the chunk broadcast frames are shared from. */
const SHARED_CHUNK_BYTES = 64 * 1024;

/** A frame in the shared chunk. */
interface SharedFrame {
  readonly buf: Buffer;
  readonly start: number;
  readonly end: number;
}

/** A broadcast's frame for one framing: a range of the shared chunk, or parts of its own (big, or with attachments). */
export type BroadcastFrame = SharedFrame | Buffer[];

function ignore(): void {
  // a failed broadcast write: the session's close is reported by its disconnect
}

/** Sends broadcasts, batched per tick, with the slow-consumer policy. */
export class Broadcaster {
  readonly #policy: ResolvedServerOptions['slowConsumer'];
  #batch: { batch: Batch; resolve: () => void } | undefined;
  /**
   * Where each broadcast is framed once, for every session's writer to
   * reference (`SocketWriter.writeShared`) instead of copying the frame
   * into its own chunk. Bytes are only ever appended: what was handed out
   * is never written again.
   */
  #chunk: Buffer | undefined;
  #offset = 0;

  /** @param policy - the server's `slowConsumer` options */
  constructor(policy: ResolvedServerOptions['slowConsumer']) {
    this.#policy = policy;
  }

  /**
   * Frames an encoded value as a MESSAGE, once for every session that talks
   * its format: straight into the shared chunk when it has no attachments
   * and is small, as parts of its own otherwise.
   *
   * @throws RangeError for a type name too long for the frame
   */
  frameValue(e: EncodedValue<string | Buffer>): BroadcastFrame {
    if (e.attachments.length === 0) {
      const room = maxFrameBytes(e.type, e.payload);
      if (room < SHARE_BELOW) {
        const chunk = this.#room(room);
        const start = this.#offset;
        this.#offset += encodePayloadFrameInto(chunk, start, FrameKind.MESSAGE, payloadFlags(e), 0, e.type, e.payload);
        return { buf: chunk, start, end: this.#offset };
      }
    }
    return frameOf(FrameKind.MESSAGE, e);
  }

  /** Bytes already framed (a JSON line), put in the shared chunk when small. */
  frameBytes(parts: Buffer[]): BroadcastFrame {
    const only = parts.length === 1 ? parts[0] : undefined;
    if (only === undefined || only.length >= SHARE_BELOW) return parts;
    const chunk = this.#room(only.length);
    const start = this.#offset;
    chunk.set(only, start);
    this.#offset = start + only.length;
    return { buf: chunk, start, end: this.#offset };
  }

  /**
   * Queues `frame(session)` to every session (after the policy checks).
   *
   * @returns the number of sessions it was queued to, once the batch is done
   */
  send(sessions: readonly Session[], frame: (session: Session) => BroadcastFrame): Promise<number> {
    const { maxBytes, policy } = this.#policy;
    const batch = this.#current();
    let count = 0;
    for (const s of sessions) {
      const conn = s.connection;
      if (!conn.ready) continue; // closing during this tick: its disconnect is on the way
      if (policy !== 'wait' && conn.writableLength > maxBytes) {
        this.#slow(s);
        continue;
      }
      // Refused (past its maxWriteBuffer, or its socket ended): not written, so not counted.
      if (conn.writeRefusal() !== undefined) continue;
      const f = frame(s);
      let write: Promise<void>;
      if (Array.isArray(f)) write = conn.sendEncoded(f);
      else if (conn.sendShared !== undefined) write = conn.sendShared(f.buf, f.start, f.end);
      else write = conn.sendEncoded([f.buf.subarray(f.start, f.end)]);
      count++;
      const first = batch.first.get(s);
      if (first === undefined) {
        // The tick's write is shared by every broadcast of the tick: settle it once.
        batch.first.set(s, write);
        batch.writes.set(
          s,
          write.then(
            () => {
              s.lagging = false;
            },
            () => undefined,
          ),
        );
        if (policy === 'wait' || !s.lagging) batch.waited.add(s);
      } else if (write !== first) {
        // Not the batch's first write: the session's writer flushed in between (a broadcast made in a
        // later callback of the same tick) and this write waits on its next batch. Its failure is
        // reported by the session's disconnect; handled here, or it would be an unhandled rejection.
        write.catch(ignore);
      }
    }
    return batch.done.then(() => count);
  }

  /** The shared chunk, with `room` bytes free at `#offset` (a new one when not: bytes handed out are never written again). */
  #room(room: number): Buffer {
    let chunk = this.#chunk;
    if (chunk === undefined || this.#offset + room > chunk.length) {
      chunk = Buffer.allocUnsafeSlow(SHARED_CHUNK_BYTES);
      this.#chunk = chunk;
      this.#offset = 0;
    }
    return chunk;
  }

  #slow(s: Session): void {
    if (this.#policy.policy === 'drop') {
      s.droppedMessages++;
      return;
    }
    debug('session %d is %d bytes behind a broadcast: disconnecting it', s.id, s.bufferedBytes);
    s.connection.destroy({
      reason: 'slow-consumer',
      message: `fell more than ${this.#policy.maxBytes} bytes behind a broadcast`,
      error: new HopwireError(ErrorCode.SLOW_CONSUMER, `${s.bufferedBytes} bytes waiting to be written`),
    });
  }

  /** The batch of this tick, opened on the first broadcast and closed at the end of the tick. */
  #current(): Batch {
    if (this.#batch !== undefined) return this.#batch.batch;
    let resolve!: () => void;
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    const batch: Batch = { first: new Map(), writes: new Map(), waited: new Set(), done };
    this.#batch = { batch, resolve };
    process.nextTick(() => {
      this.#batch = undefined;
      void this.#settle(batch).then(resolve);
    });
    return batch;
  }

  async #settle(batch: Batch): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const s of batch.waited) {
      const write = batch.writes.get(s);
      if (write !== undefined) waits.push(write);
    }
    if (this.#policy.policy === 'wait') {
      await Promise.all(waits);
    } else if (waits.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => {
          resolve('late');
        }, this.#policy.lag);
        timer.unref();
      });
      const outcome = await Promise.race([Promise.all(waits), late]);
      clearTimeout(timer);
      if (outcome === 'late') for (const s of batch.waited) if (s.bufferedBytes > 0) s.lagging = true;
    }
    // An event-loop turn, so the writes are flushed even when nothing above had to wait.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
