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
import { debug } from './debug.js';
import { ErrorCode, HopwireError } from './errors.js';
import type { ResolvedServerOptions } from './options.js';
import type { Session } from './session.js';

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

function ignore(): void {
  // a refused broadcast write: the session's close is reported by its disconnect
}

/** Sends broadcasts, batched per tick, with the slow-consumer policy. */
export class Broadcaster {
  readonly #policy: ResolvedServerOptions['slowConsumer'];
  #batch: { batch: Batch; resolve: () => void } | undefined;
  /**
   * Where each broadcast frame is copied once, for every session's writer
   * to reference (`SocketWriter.writeShared`) instead of copying it into
   * its own chunk. Bytes are only ever appended: what was handed out is
   * never written again.
   */
  #chunk: Buffer | undefined;
  #offset = 0;

  /** @param policy - the server's `slowConsumer` options */
  constructor(policy: ResolvedServerOptions['slowConsumer']) {
    this.#policy = policy;
  }

  /**
   * Queues `parts(session)` to every session (after the policy checks).
   *
   * @returns the number of sessions it was queued to, once the batch is done
   */
  send(sessions: readonly Session[], parts: (session: Session) => Buffer[]): Promise<number> {
    const { maxBytes, policy } = this.#policy;
    const batch = this.#current();
    let count = 0;
    // The frame of each framing in use (binary JSON, MessagePack, lines), put in the shared chunk once.
    const shared = new Map<Buffer[], SharedFrame | undefined>();
    for (const s of sessions) {
      if (!s.connection.ready) continue; // closing during this tick: its disconnect is on the way
      if (policy !== 'wait' && s.bufferedBytes > maxBytes) {
        this.#slow(s);
        continue;
      }
      const frame = parts(s);
      let write: Promise<void>;
      const conn = s.connection;
      if (conn.sendShared !== undefined && frame.length === 1) {
        let at = shared.get(frame);
        if (at === undefined && !shared.has(frame)) shared.set(frame, (at = this.#share(frame[0] as Buffer)));
        write = at === undefined ? conn.sendEncoded(frame) : conn.sendShared(at.buf, at.start, at.end);
      } else {
        write = conn.sendEncoded(frame);
      }
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
        // Not the tick's shared write: a refusal (the socket can no longer be written, or its write
        // buffer is past maxWriteBuffer). Handled here, or it would be an unhandled rejection.
        write.catch(ignore);
      }
    }
    return batch.done.then(() => count);
  }

  /** Copies a small frame into the shared chunk; `undefined` for a big one (written per session as it is). */
  #share(frame: Buffer): SharedFrame | undefined {
    if (frame.length >= SHARE_BELOW) return undefined;
    let chunk = this.#chunk;
    if (chunk === undefined || this.#offset + frame.length > chunk.length) {
      chunk = Buffer.allocUnsafeSlow(SHARED_CHUNK_BYTES);
      this.#chunk = chunk;
      this.#offset = 0;
    }
    const start = this.#offset;
    chunk.set(frame, start);
    this.#offset = start + frame.length;
    return { buf: chunk, start, end: this.#offset };
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
