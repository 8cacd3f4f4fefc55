/**
 * Detects a dead peer by pinging it, in the spirit of nats.js `heartbeats.ts`.
 * Knows nothing of sockets: its host sends the pings and tears down the
 * connection.
 *
 * @module
 */
import { ErrorCode, HopwireError } from './errors.js';

/** The longest delay Node timers accept; beyond it Node fires after 1 ms instead. */
import { MAX_TIMER_DELAY } from './timers.js';

/** What a {@link Heartbeat} drives: usually a connection. */
export interface HeartbeatHost {
  /** Sends one ping to the peer. If it throws, the heartbeat stops and calls {@link HeartbeatHost.onDead}. */
  sendPing(): void;
  /**
   * The peer is considered dead; the heartbeat has already stopped. Should not throw.
   * @param missed - the pings sent since the last sign of life
   */
  onDead(missed: number): void;
}

/**
 * Options of {@link Heartbeat}, all required: the connection resolves its
 * `ping` option (whose defaults are given here) into them.
 */
export interface HeartbeatOptions {
  /** Time between two ticks, in ms (more than 0, at most 2^31 - 1). @default 5000 */
  interval: number;
  /** Pings that may go unanswered; the tick after that declares the peer dead (an integer, 0 or more). @default 3 */
  misses: number;
}

/**
 * A repeating, `unref()`ed timer that pings the peer every `interval` ms.
 *
 * On each tick: if `outstanding >= misses`, the heartbeat stops and calls
 * `host.onDead(outstanding)`; otherwise `outstanding` grows by one and
 * `host.sendPing()` is called. Any frame from the peer (a pong or anything
 * else) is a sign of life: the host calls {@link Heartbeat.alive}, which
 * clears `outstanding` and restarts the interval from now. So a silent peer is
 * declared dead exactly `interval * (misses + 1)` ms after {@link Heartbeat.start}
 * or after the last {@link Heartbeat.alive}, and a peer that keeps sending
 * frames is never pinged nor declared dead.
 *
 * If `sendPing` throws, the heartbeat stops and calls `onDead(outstanding)`
 * (unless the host already stopped it); the error is not rethrown.
 */
export class Heartbeat {
  readonly #host: HeartbeatHost;
  readonly #interval: number;
  readonly #misses: number;
  #outstanding = 0;
  #timer: NodeJS.Timeout | undefined;

  /**
   * @param host - sends pings and is told of death
   * @param options - interval and misses
   * @throws {@link HopwireError} `ERR_INVALID_OPTION` for bad options
   */
  constructor(host: HeartbeatHost, options: HeartbeatOptions) {
    const { interval, misses } = options;
    if (!Number.isFinite(interval) || interval <= 0 || interval > MAX_TIMER_DELAY) {
      throw new HopwireError(ErrorCode.INVALID_OPTION, `heartbeat interval must be a number in (0, ${MAX_TIMER_DELAY}], got ${String(interval)}`);
    }
    if (!Number.isInteger(misses) || misses < 0) {
      throw new HopwireError(ErrorCode.INVALID_OPTION, `heartbeat misses must be an integer >= 0, got ${String(misses)}`);
    }
    this.#host = host;
    this.#interval = interval;
    this.#misses = misses;
  }

  /** Pings sent since start or the last sign of life, not yet answered. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** True between {@link Heartbeat.start} and {@link Heartbeat.stop} (or death). */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts (or restarts) the heartbeat with nothing outstanding. Stops first, so calling it twice never leaks a timer. */
  start(): void {
    this.stop();
    const timer = setInterval(() => {
      this.#tick();
    }, this.#interval);
    timer.unref();
    this.#timer = timer;
  }

  /** Stops the heartbeat and clears `outstanding`. Idempotent. */
  stop(): void {
    this.#outstanding = 0;
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A frame came from the peer: clears `outstanding` and restarts the interval from now. Cheap; call it for every frame. */
  alive(): void {
    this.#outstanding = 0;
    this.#timer?.refresh();
  }

  #tick(): void {
    const missed = this.#outstanding;
    if (missed >= this.#misses) {
      this.#die(missed);
      return;
    }
    this.#outstanding = missed + 1;
    try {
      this.#host.sendPing();
    } catch {
      // Unless the host stopped the heartbeat itself while failing to send.
      if (this.running) this.#die(this.#outstanding);
    }
  }

  #die(missed: number): void {
    this.stop();
    this.#host.onDead(missed);
  }
}
