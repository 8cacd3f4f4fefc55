/**
 * Public types shared by {@link Server}, {@link Session} and {@link Client}.
 *
 * @module
 */
import type { HopwireError } from './errors.js';

/** How a connection frames its messages. */
export type Protocol = 'binary' | 'lines';

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
  | 'socket-error';

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
  reply(value: unknown): Promise<void>;
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

/** The address a server listens on. */
export type ListenAddress = { readonly host: string; readonly port: number } | { readonly path: string };
