/**
 * Public types shared by {@link Server}, {@link Session} and {@link Client}.
 *
 * @module
 */
import type { HopwireError } from './errors.js';

/** How a connection frames its messages. */
export type Protocol = 'binary' | 'lines';

/**
 * The payload format of a connection's frames: `'msgpack'` when both sides
 * asked for `codec: 'msgpack'` in their hellos, `'json'` otherwise.
 */
export type PayloadFormat = 'json' | 'msgpack';

/** Why a connection ended. */
export type DisconnectReason =
  /** This side called `close()`. */
  | 'closed'
  /** The peer closed the connection (or said goodbye). */
  | 'remote-closed'
  /** The peer stopped answering pings. */
  | 'ping-timeout'
  /** The peer did not complete the hello in time. */
  | 'handshake-timeout'
  /** The peer broke the protocol: bad frame, bad payload, line too long, wrong version, … */
  | 'protocol-error'
  /** The socket failed (`ECONNRESET`, …). */
  | 'socket-error'
  /** The peer fell too far behind `sendAll()` broadcasts (server `slowConsumer` policy). */
  | 'slow-consumer'
  /** A UDP peer sent nothing for `peerTimeout` ms (server, `transport: 'udp'`). */
  | 'idle';

/** What `disconnect` events carry. */
export interface DisconnectInfo {
  /** Why the connection ended. */
  readonly reason: DisconnectReason;
  /** A readable sentence. */
  readonly message: string;
  /** The error behind it, if there was one. */
  readonly error?: HopwireError | Error;
}

/** Options of a single `request()`. */
export interface RequestOptions {
  /** Milliseconds to wait for the reply; 0 waits forever. @default the `requestTimeout` option */
  timeout?: number;
  /** Aborts the wait; the request then rejects with an `AbortError`. */
  signal?: AbortSignal;
}

/** Options of a single `send()`. */
export interface SendOptions {
  /**
   * Resolve only when the peer's message listeners have been called with the
   * message, resending it after a reconnect until then (see
   * `docs/delivery.md`). Client to server only.
   * @default false
   */
  ack?: boolean;
}

/** What every received message comes with. */
export interface MessageContext {
  /** The sender's type name of the message (`''` for plain values). */
  readonly type: string;
  /** Whether `type` is registered here (so the message is a real instance). */
  readonly known: boolean;
  /** Type names inside the message that are not registered here. */
  readonly unknownTypes: readonly string[];
  /** The framing of the connection it came on. */
  readonly protocol: Protocol;
  /** Sends a message back to the sender. */
  readonly reply: (value: unknown) => Promise<void>;
}

/** What a request handler gets besides the request. */
export interface RequestContext extends Omit<MessageContext, 'reply'> {
  /** Aborted when the connection closes before the handler is done. */
  readonly signal: AbortSignal;
}

/**
 * Answers requests: its return value (or what its promise resolves to) is the
 * reply; what it throws (or rejects with) reaches the requester as `ERR_REMOTE`.
 */
export type RequestHandler<C extends RequestContext = RequestContext> = (request: unknown, ctx: C) => unknown;

/** A TCP address. */
export interface TcpAddress {
  /** The interface listened on. */
  readonly host: string;
  /** The port (the real one when 0 was asked). */
  readonly port: number;
  /** Absent for TCP. */
  readonly path?: undefined;
}

/** A Unix domain socket address. */
export interface UnixAddress {
  /** The socket file. */
  readonly path: string;
  /** Absent for Unix sockets. */
  readonly host?: undefined;
  /** Absent for Unix sockets. */
  readonly port?: undefined;
}

/**
 * The address a server listens on. Both shapes have all three keys, so
 * `const { port } = await server.listen()` works and can be passed straight
 * to `new Client({ port })`.
 */
export type ListenAddress = TcpAddress | UnixAddress;
