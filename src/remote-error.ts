/**
 * How a failing request handler's error crosses the wire, as pure functions.
 * The ERROR frame's payload is JSON `{ message, code?, name?, stack? }`.
 *
 * @module
 */
import { ErrorCode, HopwireError } from './errors.js';

/** The payload of an ERROR frame. */
export interface ErrorPayload {
  /** The error's message. */
  message: string;
  /** The error's `code`, when it had a string one. */
  code?: string;
  /** The error's `name`. */
  name?: string;
  /** The stack, only when the handler's side sends stacks. */
  stack?: string;
}

const MAX_MESSAGE = 4096;

/**
 * The ERROR payload for something a handler threw. Never throws, whatever
 * was thrown (an object without a prototype, a `message` that is not a
 * string, getters that throw): the requester must always get an answer.
 */
export function errorPayload(err: unknown, withStack: boolean): ErrorPayload {
  try {
    if (err instanceof Error) {
      const out: ErrorPayload = { message: text(err.message), name: text(err.name) };
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string') out.code = code;
      if (withStack && typeof err.stack === 'string') out.stack = err.stack;
      return out;
    }
    return { message: text(err) };
  } catch {
    return { message: 'the handler threw a value that cannot be described' };
  }
}

function text(v: unknown): string {
  return (typeof v === 'string' ? v : String(v)).slice(0, MAX_MESSAGE);
}

/**
 * The error a requester sees for an ERROR frame: `ERR_NO_HANDLER` when the
 * peer had no handler, otherwise `ERR_REMOTE` carrying the remote message,
 * code and (if sent) stack.
 */
export function remoteError(payload: Buffer): HopwireError {
  let data: Partial<Record<keyof ErrorPayload, unknown>> = {};
  try {
    const parsed: unknown = JSON.parse(payload.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null) data = parsed;
  } catch {
    // an unreadable error payload still rejects the request, with a generic message
  }
  const message = typeof data.message === 'string' ? data.message : 'remote error';
  const code = typeof data.code === 'string' ? data.code : undefined;
  if (code === ErrorCode.NO_HANDLER) return new HopwireError(ErrorCode.NO_HANDLER, message);
  if (code === ErrorCode.NO_METHOD) return new HopwireError(ErrorCode.NO_METHOD, message);
  if (code === ErrorCode.RELEASED) return new HopwireError(ErrorCode.RELEASED, message);
  return new HopwireError(ErrorCode.REMOTE, message, {
    ...(code === undefined ? {} : { remoteCode: code }),
    ...(typeof data.stack === 'string' ? { remoteStack: data.stack } : {}),
  });
}
