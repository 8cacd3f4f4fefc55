/**
 * GOODBYE frame payloads, `{"code":"…","reason":"…"}`: the one a closing
 * connection sends, and what the receiving side makes of one — the
 * {@link DisconnectInfo} its connection ends with. Pure.
 *
 * @module
 */
import { ErrorCode, HopwireError } from './errors.js';
import type { DisconnectInfo } from './types.js';

/** The longest reason sent, or repeated from the peer (characters). */
const MAX_REASON = 500;

/**
 * The payload of the GOODBYE this side sends.
 *
 * @param code - the error code that closes the connection, or `'closed'`
 * @param reason - why, for the peer's `DisconnectInfo` (cut at 500 characters)
 */
export function goodbyePayload(code: string, reason: string): string {
  return JSON.stringify({ code, reason: cut(reason) });
}

/** `text` cut to {@link MAX_REASON} UTF-16 units, never between the two halves of a surrogate pair. */
function cut(text: string): string {
  if (text.length <= MAX_REASON) return text;
  const last = text.charCodeAt(MAX_REASON - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? MAX_REASON - 1 : MAX_REASON);
}

/**
 * Why the connection ends when the peer says goodbye: `'protocol-error'`
 * with the error for `ERR_VERSION`, `ERR_AUTH` and `ERR_PROTOCOL`,
 * `'remote-closed'` for any other payload, readable or not.
 */
export function goodbyeInfo(payload: Buffer): DisconnectInfo {
  let message = 'the peer said goodbye';
  let error: HopwireError | undefined;
  try {
    const data = JSON.parse(payload.toString('utf8')) as { code?: unknown; reason?: unknown };
    if (typeof data.reason === 'string') message = `the peer said goodbye: ${cut(data.reason)}`;
    if (data.code === ErrorCode.VERSION || data.code === ErrorCode.AUTH || data.code === ErrorCode.PROTOCOL) {
      error = new HopwireError(data.code, message);
    }
  } catch {
    // a goodbye without a readable reason is still a goodbye
  }
  return { reason: error === undefined ? 'remote-closed' : 'protocol-error', message, ...(error ? { error } : {}) };
}
