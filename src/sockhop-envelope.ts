/**
 * The sockhop 1.x wire, as pure functions: JSON lines where every message is
 * wrapped as `{"type":"Widget","data":{…}}`. A remote callback adds `"id"`
 * and is answered with `"callback_id"`; pings are `SockhopPing` objects
 * answered with `SockhopPong` echoing `_id`; `SockhopRequest` /
 * `SockhopResponsePacket` (with `last`) carry sockhop 1.8's request streams.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode, HopwireError } from './errors.js';

/** What an incoming sockhop line is. */
export type SockhopInbound =
  /** A ping: answer with `pong`. */
  | { readonly kind: 'ping'; readonly pong: object }
  /** The answer to one of our pings. */
  | { readonly kind: 'pong' }
  /** A sockhop 1.8 request: answer with response packets for `uuid`. */
  | { readonly kind: 'stream-request'; readonly uuid: string; readonly type: string; readonly data: unknown }
  /** A packet of a response stream to one of our requests. */
  | { readonly kind: 'stream-packet'; readonly uuid: string; readonly type: string; readonly data: unknown; readonly last: boolean }
  /** The answer to a message we sent with an `id` (a remote callback). */
  | { readonly kind: 'callback-reply'; readonly callbackId: string; readonly type: string; readonly data: unknown }
  /** A message; with `id` the sender waits for a callback answer. */
  | { readonly kind: 'message'; readonly type: string; readonly data: unknown; readonly id?: string };

/** The type name sockhop gives errors it reports through callbacks and streams. */
export const SOCKHOP_ERROR_TYPE = 'SockhopError';

/**
 * Tells what a parsed sockhop line is.
 *
 * @throws HopwireError `ERR_DECODE` when it is not a sockhop envelope
 */
export function classifySockhop(line: unknown): SockhopInbound {
  if (typeof line !== 'object' || line === null || Array.isArray(line)) {
    throw new HopwireError(ErrorCode.DECODE, 'a sockhop line must be an object {"type":…,"data":…}');
  }
  const o = line as Record<string, unknown>;
  const type = typeof o.type === 'string' ? o.type : '';
  const data = o.data;
  switch (type) {
    case 'SockhopPing': {
      const ping = isObject(data) ? data : {};
      return { kind: 'ping', pong: { type: 'SockhopPong', data: { _id: ping._id ?? null, _created: ping._created ?? null, _returned: new Date(), _finished: null } } };
    }
    case 'SockhopPong':
      return { kind: 'pong' };
    case 'SockhopRequest': {
      const req = isObject(data) ? data : {};
      if (typeof req.uuid !== 'string') throw new HopwireError(ErrorCode.DECODE, 'SockhopRequest without a uuid');
      return { kind: 'stream-request', uuid: req.uuid, type: typeof req.type === 'string' ? req.type : '', data: req.data };
    }
    case 'SockhopResponsePacket': {
      const pkt = isObject(data) ? data : {};
      if (typeof pkt.uuid !== 'string') throw new HopwireError(ErrorCode.DECODE, 'SockhopResponsePacket without a uuid');
      return { kind: 'stream-packet', uuid: pkt.uuid, type: typeof pkt.type === 'string' ? pkt.type : '', data: pkt.data, last: pkt.last === true };
    }
    default:
      break;
  }
  if (type === '' && !('data' in o)) throw new HopwireError(ErrorCode.DECODE, 'a sockhop line needs "type" and "data"');
  if (typeof o.callback_id === 'string') return { kind: 'callback-reply', callbackId: o.callback_id, type, data };
  return typeof o.id === 'string' ? { kind: 'message', type, data, id: o.id } : { kind: 'message', type, data };
}

/** A message in sockhop's envelope; `id` asks for a callback answer. */
export function sockhopMessage(type: string, data: unknown, id?: string): object {
  return id === undefined ? { type, data } : { type, data, id };
}

/** The callback answer to a message that carried `id`. */
export function sockhopCallbackReply(callbackId: string, type: string, data: unknown): object {
  return { type, data, callback_id: callbackId };
}

/** A ping, as a sockhop client or server sends it. */
export function sockhopPing(): object {
  return { type: 'SockhopPing', data: { _id: randomUUID(), _created: new Date(), _returned: null, _finished: null } };
}

/** One packet of a response stream. */
export function sockhopResponsePacket(uuid: string, type: string, data: unknown, last: boolean): object {
  return { type: 'SockhopResponsePacket', data: { uuid, type, data, last } };
}

/** What errors look like on sockhop's wire (it has no error replies of its own). */
export function sockhopErrorData(err: unknown): { message: string; code?: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? { message: err.message, code } : { message: err.message };
  }
  return { message: String(err) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
