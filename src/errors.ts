/**
 * Every error hopwire creates is a {@link HopwireError} with a stable string
 * {@link HopwireError.code | code}. Match on the code, never on the message:
 * messages carry context and may change, codes do not.
 *
 * @module
 */

/**
 * The stable error codes. Each is documented in `docs/errors.md` with its
 * cause and the usual fix.
 */
export const ErrorCode = {
  /** A frame header announced more bytes than `maxFrameBytes` allows. */
  FRAME_TOO_LARGE: 'ERR_FRAME_TOO_LARGE',
  /** A JSON line grew past `maxLineBytes` before its terminator arrived. */
  LINE_TOO_LARGE: 'ERR_LINE_TOO_LARGE',
  /** A value does not fit one UDP datagram (`maxDatagramBytes`); nothing was sent. */
  DATAGRAM_TOO_LARGE: 'ERR_DATAGRAM_TOO_LARGE',
  /** A value does not fit one NATS message (the NATS server's `max_payload`); nothing was sent. */
  PAYLOAD_TOO_LARGE: 'ERR_PAYLOAD_TOO_LARGE',
  /** An optional package an option needs is not installed (the message names it). */
  MISSING_DEPENDENCY: 'ERR_MISSING_DEPENDENCY',
  /** The peer broke the wire protocol (bad magic, unknown kind, inconsistent lengths, …). */
  PROTOCOL: 'ERR_PROTOCOL',
  /** Shared-secret authentication failed (wrong, missing or unexpected secret). */
  AUTH: 'ERR_AUTH',
  /** The peer speaks a protocol version this side cannot speak. */
  VERSION: 'ERR_VERSION',
  /** A value could not be encoded (a cycle, a function, a symbol, …). */
  ENCODE: 'ERR_ENCODE',
  /** A payload could not be decoded (invalid JSON, a malformed tag, too deep, …). */
  DECODE: 'ERR_DECODE',
  /** A class could not be registered (name clash, not a constructor, …). */
  REGISTRY: 'ERR_REGISTRY',
  /** An option has a wrong type or value; thrown by constructors. */
  INVALID_OPTION: 'ERR_INVALID_OPTION',
  /** `request()` got no reply within its timeout. */
  REQUEST_TIMEOUT: 'ERR_REQUEST_TIMEOUT',
  /** The peer's request handler threw or rejected; `remoteCode` holds its code if it had one. */
  REMOTE: 'ERR_REMOTE',
  /** The peer has no request handler installed. */
  NO_HANDLER: 'ERR_NO_HANDLER',
  /** A function passed to the peer was called after it was released. */
  RELEASED: 'ERR_RELEASED',
  /** Too many functions are held for the peer (`maxRemoteFunctions`). */
  TOO_MANY_FUNCTIONS: 'ERR_TOO_MANY_FUNCTIONS',
  /** A proxy called a method the peer does not expose. */
  NO_METHOD: 'ERR_NO_METHOD',
  /** There is no connection to send on (not yet connected, or it dropped). */
  NOT_CONNECTED: 'ERR_NOT_CONNECTED',
  /** The client, server or session was closed by this side. */
  CLOSED: 'ERR_CLOSED',
  /** The offline queue (or a `messages()` iterator's buffer) is full. */
  QUEUE_FULL: 'ERR_QUEUE_FULL',
  /** The socket's write buffer passed `maxWriteBuffer`: the peer reads slower than this side sends. */
  BUFFER_FULL: 'ERR_BUFFER_FULL',
  /** A session fell too far behind a broadcast and was disconnected (`slowConsumer` policy). */
  SLOW_CONSUMER: 'ERR_SLOW_CONSUMER',
  /** Too many requests are waiting for a reply on one connection. */
  TOO_MANY_PENDING: 'ERR_TOO_MANY_PENDING',
  /** The peer did not complete the handshake in time. */
  HANDSHAKE_TIMEOUT: 'ERR_HANDSHAKE_TIMEOUT',
  /** The peer stopped answering pings. */
  PING_TIMEOUT: 'ERR_PING_TIMEOUT',
  /** The operation needs a feature the peer (for example a JSON-lines peer) does not have. */
  UNSUPPORTED: 'ERR_UNSUPPORTED',
} as const;

/** One of the {@link ErrorCode} values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Extra fields an error may carry. */
export interface HopwireErrorDetails {
  /** The error that led to this one. */
  cause?: unknown;
  /** For `ERR_REMOTE`: the `code` the remote handler's error had, if any. */
  remoteCode?: string;
  /** For `ERR_REMOTE`: the remote stack, only when the peer was asked to send it. */
  remoteStack?: string;
}

/**
 * The one error class of hopwire.
 *
 * @example
 * ```ts
 * try {
 *   await client.request({ op: 'slow' }, { timeout: 100 });
 * } catch (err) {
 *   if (err instanceof HopwireError && err.code === 'ERR_REQUEST_TIMEOUT') retry();
 * }
 * ```
 */
export class HopwireError extends Error {
  /** A stable code from {@link ErrorCode}. */
  readonly code: ErrorCode;
  /** For `ERR_REMOTE`: the code of the remote error, if it had one. */
  readonly remoteCode: string | undefined;
  /** For `ERR_REMOTE`: the remote stack, when the peer sends stacks. */
  readonly remoteStack: string | undefined;

  /**
   * @param code - a stable code from {@link ErrorCode}
   * @param message - what happened, with its context
   * @param details - cause and remote details
   */
  constructor(code: ErrorCode, message: string, details: HopwireErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'HopwireError';
    this.code = code;
    this.remoteCode = details.remoteCode;
    this.remoteStack = details.remoteStack;
  }
}

/** True when `err` is a {@link HopwireError}, optionally with the given code. */
export function isHopwireError(err: unknown, code?: ErrorCode): err is HopwireError {
  return err instanceof HopwireError && (code === undefined || err.code === code);
}

/** The error of a call on a client after `close()`: `ERR_CLOSED`, whichever transport it uses. */
export function clientClosedError(): HopwireError {
  return new HopwireError(ErrorCode.CLOSED, 'the client was closed');
}

/** Anything thrown, as an Error (for promise rejections and `cause`s). */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * A user's listener threw: let it surface as an uncaught exception, as a
 * throwing EventEmitter listener does in Node, without the connection that
 * delivered the event being torn down as if the peer had misbehaved.
 */
export function rethrow(err: unknown): void {
  process.nextTick(() => {
    throw err;
  });
}
