/**
 * Opens a NATS connection from a server's or client's resolved options,
 * and turns the NATS client's status events into calls. Reconnect, its
 * backoff and the connection heartbeat are the NATS client's: the options
 * configure them, nothing here repeats them.
 *
 * @module
 */
import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import { debug } from '../debug.js';
import { ErrorCode, HopwireError, rethrow, toError } from '../errors.js';
import type { Endpoint, NatsOptions } from '../options.js';
import { loadNats } from './loader.js';

/** A NATS server's address. */
export type NatsServer = Extract<Endpoint, { port: number }>;

/** What {@link openNats} needs. */
export interface NatsSettings {
  /** The `nats` option. */
  readonly nats: Readonly<NatsOptions>;
  /** The service subject. */
  readonly subject: string;
  /** Who connects, for the NATS server's connection list. */
  readonly role: 'client' | 'server';
  /** Keep trying to reach the cluster after losing it (`false`: close instead). */
  readonly reconnect: boolean;
  /** Keep trying until the first connection succeeds. */
  readonly waitOnFirstConnect: boolean;
}

/** What {@link watchStatus} reports. */
export interface StatusListener {
  /** The connection to a NATS server was lost. */
  onDisconnect(server: NatsServer): void;
  /** The NATS client tries the servers again (each round). */
  onReconnecting(): void;
  /** Connected again, to `server`. */
  onReconnect(server: NatsServer): void;
  /** The NATS client reported an error. */
  onError(err: Error): void;
}

/** How long the NATS client waits between reconnect rounds unless `nats.reconnectTimeWait` says otherwise. */
export const RECONNECT_TIME_WAIT = 2_000;

/**
 * Connects to the cluster.
 *
 * @throws HopwireError `ERR_MISSING_DEPENDENCY` without `@nats-io/transport-node`,
 * `ERR_NOT_CONNECTED` when no NATS server answers
 */
export async function openNats(s: NatsSettings): Promise<NatsConnection> {
  const { connect } = await loadNats();
  const { servers, ...rest } = s.nats;
  try {
    return await connect({
      name: `hopwire ${s.role} ${s.subject}`,
      maxReconnectAttempts: -1,
      waitOnFirstConnect: s.waitOnFirstConnect,
      ...(rest as NodeConnectionOptions),
      servers: typeof servers === 'string' ? servers : [...servers],
      reconnect: s.reconnect && rest.reconnect !== false,
    });
  } catch (err) {
    const cause = toError(err);
    throw new HopwireError(ErrorCode.NOT_CONNECTED, `cannot connect to NATS (${String(servers)}): ${cause.message}`, { cause });
  }
}

/** How long a graceful close may take before the connection is closed outright. */
export const DRAIN_TIMEOUT = 2_000;

/**
 * Closes a NATS connection: drained (what was published is flushed, then
 * the subscriptions end) when `graceful`, within {@link DRAIN_TIMEOUT} ms;
 * closed outright otherwise or after that.
 */
export async function closeNats(nc: NatsConnection, graceful: boolean): Promise<void> {
  if (graceful) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, DRAIN_TIMEOUT);
      timer.unref();
    });
    await Promise.race([nc.drain(), late]).catch((err: unknown) => {
      debug('NATS drain: %s', toError(err).message);
    });
    clearTimeout(timer);
  }
  if (!nc.isClosed()) await nc.close().catch((err: unknown) => {
    debug('NATS close: %s', toError(err).message);
  });
}

/** The NATS server a connection is on, as an endpoint (`host:port`). */
export function serverEndpoint(server: string): NatsServer {
  const at = server.lastIndexOf(':');
  const port = Number(server.slice(at + 1));
  const host = server.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  return Object.freeze(at <= 0 || !Number.isInteger(port) ? { host: server, port: 0 } : { host, port });
}

/**
 * Reports the connection's status events until it closes. A listener that
 * throws (a user's event listener, through the host) does not end the
 * watch: the error is thrown again outside it, as an EventEmitter
 * listener's would be, and the next status is still reported.
 */
export async function watchStatus(nc: NatsConnection, listener: StatusListener): Promise<void> {
  for await (const status of nc.status()) {
    debug('NATS status: %s', status.type);
    try {
      switch (status.type) {
        case 'disconnect':
          listener.onDisconnect(serverEndpoint(status.server));
          break;
        case 'reconnecting':
          listener.onReconnecting();
          break;
        case 'reconnect':
          listener.onReconnect(serverEndpoint(status.server));
          break;
        case 'error':
          listener.onError(status.error);
          break;
        default:
          break;
      }
    } catch (err) {
      rethrow(err);
    }
  }
}

/**
 * Wraps a subscription callback. The NATS client calls it from its socket
 * reader, where an exception would stop all reading on the connection
 * without a word (every request would then time out). What the wire can
 * cause is caught by the frame readers; what is left is a listener's bug,
 * thrown again outside the reader, as an EventEmitter listener's would be.
 */
export function guarded<E, M>(callback: (err: E, msg: M) => void): (err: E, msg: M) => void {
  return (err, msg) => {
    try {
      callback(err, msg);
    } catch (e) {
      rethrow(e);
    }
  };
}
