/**
 * The binary frame: its layout, its kinds and flags, and the encoder.
 * Pure: no sockets, no timers. `docs/protocol.md` describes the same layout
 * with hex examples; `test/frame.golden.test.ts` pins it byte for byte.
 *
 * ```
 * offset size field
 *  0      4   length       u32 BE: bytes after this field (header rest + body)
 *  4      1   kind         FrameKind
 *  5      1   flags        FrameFlags; reserved bits must be 0
 *  6      2   typeLength   u16 BE: bytes of the type name (≤ 255)
 *  8      4   id           u32 BE: request id, 0 when the kind has none
 * 12      4   payloadLength u32 BE
 * 16      2   attachments  u16 BE: attachment count
 * 18      2   reserved     must be 0
 * 20    4×n   attachment lengths, u32 BE each
 *  …          type name (UTF-8), payload (UTF-8 JSON, or MessagePack with the
 *             MSGPACK flag), attachments (raw bytes)
 * ```
 *
 * @module
 */
import { writeUtf8 } from './utf8.js';

/** Protocol version spoken by this release. */
export const PROTOCOL_VERSION = 1;

/**
 * Four bytes every hopwire peer sends before its first frame. The first byte
 * is not ASCII, so no JSON text can start with it: a server tells a hopwire
 * peer from a JSON-lines peer by its first byte.
 */
export const MAGIC: Readonly<Buffer> = Buffer.from([0x89, 0x48, 0x4f, 0x50]); // "\x89HOP"

/** Bytes of the fixed header, counting the length field. */
export const HEADER_BYTES = 20;
/** Bytes of the header after the length field. */
export const HEADER_REST_BYTES = HEADER_BYTES - 4;
/** Longest type name, in UTF-8 bytes. */
export const MAX_TYPE_NAME_BYTES = 255;
/** Largest value of a u32 field. */
export const MAX_U32 = 0xffff_ffff;

/** What a frame is. Values 11–63 are reserved for later versions (negotiated in the hello). */
export const FrameKind = {
  /** Handshake: JSON `{ version, min, caps, … }`; the first frame each side sends. */
  HELLO: 1,
  /** A one-way message; a non-zero `id` asks the receiver for an ACK carrying that id. */
  MESSAGE: 2,
  /** A request; `id` is the request id the reply will carry. */
  REQUEST: 3,
  /** A successful reply to request `id`. */
  REPLY: 4,
  /** A failed reply to request `id`: JSON `{ message, code?, name?, stack? }`. */
  ERROR: 5,
  /** Liveness probe; the peer answers with PONG. */
  PING: 6,
  /** Answer to PING. */
  PONG: 7,
  /** The sender is closing: JSON `{ code, reason }`. */
  GOODBYE: 8,
  /** The MESSAGE with this `id` was handed to the receiver's message listeners; empty payload. */
  ACK: 9,
  /** Shared-secret authentication during the hello: JSON `{ proof }` (client) or `{ ok: true }` (server). */
  AUTH: 10,
} as const;

/** One of the {@link FrameKind} values. */
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Highest kind number this version defines. */
export const MAX_FRAME_KIND: number = FrameKind.AUTH;

/** Frame flag bits. Bits not listed here are reserved and must be 0. */
export const FrameFlags = {
  /** The payload holds tagged values (`{"$hw": …}`) that the receiver must revive. */
  TAGGED: 0x01,
  /**
   * Streams. On a REQUEST: the requester takes a stream of replies. On a
   * REPLY: one item of the stream; more replies follow (the last REPLY of a
   * stream has the flag clear).
   */
  STREAM: 0x02,
  /**
   * On a MESSAGE, REQUEST or REPLY: the payload is MessagePack instead of
   * JSON text (the same tree, tags included). Sent only to a peer whose hello
   * announced the `msgpack` capability.
   */
  MSGPACK: 0x04,
} as const;

/** Mask of the flag bits this version defines. */
export const KNOWN_FLAGS: number = FrameFlags.TAGGED | FrameFlags.STREAM | FrameFlags.MSGPACK;

/** A decoded frame. Buffers may share memory with the bytes they came from. */
export interface Frame {
  /** What the frame is. */
  readonly kind: FrameKind;
  /** {@link FrameFlags} bits. */
  readonly flags: number;
  /** Request id for REQUEST, REPLY and ERROR; 0 otherwise. */
  readonly id: number;
  /** The sender's type name of the top-level value, or `''`. */
  readonly type: string;
  /**
   * The payload: JSON (UTF-8), or MessagePack with the MSGPACK flag. On
   * frames from a `FrameDecoder` it is an accessor that makes a view of the
   * received bytes when first read: `{ ...frame }`, `JSON.stringify` and
   * `structuredClone` do not copy it. `payloadText(frame)` decodes JSON
   * without making the view.
   */
  readonly payload: Buffer;
  /** Raw binary attachments referenced from the payload (for frames without any, one shared frozen array). */
  readonly attachments: readonly Buffer[];
}

/** What {@link encodeFrame} needs. */
export interface FrameInput {
  /** What the frame is. */
  kind: FrameKind;
  /** {@link FrameFlags} bits. @default 0 */
  flags?: number;
  /** Request id. @default 0 */
  id?: number;
  /** Type name of the top-level value. @default '' */
  type?: string;
  /** The payload: JSON text, or bytes (JSON or MessagePack). @default '' */
  payload?: string | Buffer;
  /** Binary attachments. @default [] */
  attachments?: readonly Uint8Array[];
}

/**
 * Encodes one frame. Returns the header-and-payload buffer followed by the
 * attachments as they are (not copied), ready for one vectored write.
 *
 * @throws RangeError when a field does not fit its width; callers check
 * sizes against their limits before encoding.
 */
export function encodeFrame(input: FrameInput): Buffer[] {
  const { kind, flags = 0, id = 0, type = '', payload = '', attachments = [] } = input;
  const typeLength = type === '' ? 0 : Buffer.byteLength(type, 'utf8');
  if (typeLength > MAX_TYPE_NAME_BYTES) {
    throw new RangeError(`type name is ${typeLength} bytes; the limit is ${MAX_TYPE_NAME_BYTES}`);
  }
  if (attachments.length > 0xffff) throw new RangeError('more than 65535 attachments in one frame');
  const payloadLength = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;
  const tableBytes = 4 * attachments.length;
  let attachmentBytes = 0;
  for (const a of attachments) attachmentBytes += a.byteLength;
  const length = HEADER_REST_BYTES + tableBytes + typeLength + payloadLength + attachmentBytes;
  if (length > MAX_U32) throw new RangeError(`frame of ${length} bytes does not fit the u32 length`);

  const head = Buffer.allocUnsafe(HEADER_BYTES + tableBytes + typeLength + payloadLength);
  head.writeUInt32BE(length, 0);
  head.writeUInt8(kind, 4);
  head.writeUInt8(flags, 5);
  head.writeUInt16BE(typeLength, 6);
  head.writeUInt32BE(id, 8);
  head.writeUInt32BE(payloadLength, 12);
  head.writeUInt16BE(attachments.length, 16);
  head.writeUInt16BE(0, 18);
  let offset = HEADER_BYTES;
  for (const a of attachments) {
    head.writeUInt32BE(a.byteLength, offset);
    offset += 4;
  }
  if (typeLength > 0) offset += head.write(type, offset, 'utf8');
  if (typeof payload === 'string') head.write(payload, offset, 'utf8');
  else payload.copy(head, offset);

  if (attachments.length === 0) return [head];
  const out: Buffer[] = [head];
  for (const a of attachments) {
    out.push(Buffer.isBuffer(a) ? a : Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  }
  return out;
}

/**
 * The most bytes {@link encodePayloadFrameInto} may need for a frame without
 * attachments: UTF-8 takes at most 3 bytes per UTF-16 code unit of the type
 * name and of a text payload; a bytes payload takes its length.
 */
export function maxFrameBytes(type: string, payload: string | Uint8Array): number {
  return HEADER_BYTES + 3 * type.length + (typeof payload === 'string' ? 3 * payload.length : payload.length);
}

/**
 * Encodes one frame without attachments into `target` at `offset`: a text
 * payload (JSON) with {@link encodeFrameInto}, bytes (MessagePack) with
 * {@link encodeBytesFrameInto}. The caller guarantees {@link maxFrameBytes}
 * of room.
 *
 * @returns the number of bytes written
 * @throws RangeError when the type name is too long, or a bytes payload too long for the 32-bit length
 */
export function encodePayloadFrameInto(target: Buffer, offset: number, kind: FrameKind, flags: number, id: number, type: string, payload: string | Uint8Array): number {
  return typeof payload === 'string'
    ? encodeFrameInto(target, offset, kind, flags, id, type, payload)
    : encodeBytesFrameInto(target, offset, kind, flags, id, type, payload);
}

/**
 * Encodes one frame without attachments straight into `target` at `offset`,
 * in one UTF-8 pass over the payload (no size pass, no buffer of its own).
 * The caller guarantees {@link maxFrameBytes} of room.
 *
 * @returns the number of bytes written
 * @throws RangeError when the type name is too long
 */
export function encodeFrameInto(target: Buffer, offset: number, kind: FrameKind, flags: number, id: number, type: string, payload: string): number {
  const typeLength = writeTypeName(target, offset + HEADER_BYTES, type);
  const payloadLength = payload === '' ? 0 : writeUtf8(target, payload, offset + HEADER_BYTES + typeLength);
  writeHeader(target, offset, kind, flags, id, typeLength, payloadLength);
  return HEADER_BYTES + typeLength + payloadLength;
}

/**
 * {@link encodeFrameInto} for a payload that is already bytes (MessagePack).
 * The caller guarantees `HEADER_BYTES + 3 × type.length + payload.length` of room.
 *
 * @returns the number of bytes written
 * @throws RangeError when the type name is too long, or the payload too long for the 32-bit length
 */
export function encodeBytesFrameInto(target: Buffer, offset: number, kind: FrameKind, flags: number, id: number, type: string, payload: Uint8Array): number {
  // The length field is 32 bits (JSON text cannot get near it; bytes could).
  if (payload.length > 0xffff_ffff - HEADER_REST_BYTES - MAX_TYPE_NAME_BYTES) throw new RangeError(`a payload of ${payload.length} bytes does not fit a frame`);
  const typeLength = writeTypeName(target, offset + HEADER_BYTES, type);
  target.set(payload, offset + HEADER_BYTES + typeLength);
  writeHeader(target, offset, kind, flags, id, typeLength, payload.length);
  return HEADER_BYTES + typeLength + payload.length;
}

/** Writes the type name at `at`; returns its length in bytes. @throws RangeError when it is too long */
function writeTypeName(target: Buffer, at: number, type: string): number {
  const typeLength = type === '' ? 0 : writeUtf8(target, type, at);
  if (typeLength > MAX_TYPE_NAME_BYTES) {
    throw new RangeError(`type name is ${typeLength} bytes; the limit is ${MAX_TYPE_NAME_BYTES}`);
  }
  return typeLength;
}

/**
 * Writes the fixed header of a frame without attachments. Byte stores rather
 * than `writeUInt32BE`, which checks its arguments again on every call: the
 * callers pass a type length of at most 255 and 32-bit lengths and ids.
 */
function writeHeader(target: Buffer, offset: number, kind: FrameKind, flags: number, id: number, typeLength: number, payloadLength: number): void {
  putU32(target, offset, HEADER_REST_BYTES + typeLength + payloadLength);
  target[offset + 4] = kind;
  target[offset + 5] = flags;
  target[offset + 6] = 0;
  target[offset + 7] = typeLength;
  putU32(target, offset + 8, id);
  putU32(target, offset + 12, payloadLength);
  putU32(target, offset + 16, 0); // no attachments, reserved
}

/** Stores `v` (0 to 2³²−1) big-endian at `at`. */
function putU32(target: Buffer, at: number, v: number): void {
  target[at] = v >>> 24;
  target[at + 1] = (v >>> 16) & 0xff;
  target[at + 2] = (v >>> 8) & 0xff;
  target[at + 3] = v & 0xff;
}

/** Encodes one frame into a single buffer (tests, small control frames). */
export function encodeFrameToBuffer(input: FrameInput): Buffer {
  const parts = encodeFrame(input);
  return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts);
}
