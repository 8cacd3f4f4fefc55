/**
 * Values to bytes for each framing: a binary frame of a given kind, or one
 * JSON line (plain, or in sockhop's envelope). Shared by the connection and
 * the client's offline queue, so a queued message goes out exactly as a
 * direct one would.
 *
 * @module
 */
import type { EncodedValue } from './codec.js';
import { FrameFlags, type FrameKind, encodeFrame } from './frame.js';
import { encodeLine } from './line-decoder.js';
import type { ResolvedCommon } from './options.js';
import { sockhopMessage } from './sockhop-envelope.js';

/** The flags an encoded value gives its frame: TAGGED, and MSGPACK for a MessagePack payload. */
export function payloadFlags(e: EncodedValue<string | Buffer>): number {
  return (e.tagged ? FrameFlags.TAGGED : 0) | (typeof e.payload === 'string' ? 0 : FrameFlags.MSGPACK);
}

/** Puts an encoded value (JSON or MessagePack) into a frame of the given kind, with `flags` added. */
export function frameOf(kind: FrameKind, e: EncodedValue<string | Buffer>, id = 0, flags = 0): Buffer[] {
  return encodeFrame({ kind, flags: flags | payloadFlags(e), id, type: e.type, payload: e.payload, attachments: e.attachments });
}

/** Encodes a message as one JSON line: plain JSON (`toWire` applied), or in sockhop's envelope. */
export function encodeLinesMessage(settings: Pick<ResolvedCommon, 'codec' | 'envelope' | 'sendTerminator'>, value: unknown): Buffer {
  const { type, data } = settings.codec.toPlain(value);
  return encodeLine(settings.envelope === 'sockhop' ? sockhopMessage(type, data) : data, settings.sendTerminator);
}
