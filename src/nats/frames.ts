/**
 * A NATS message payload is laid out as a UDP datagram is: the magic, the
 * protocol version and exactly one frame (see `datagram.ts`). Pure: no
 * connection, no timers.
 *
 * @module
 */
import type { Codec, EncodedValue, FunctionExporter } from '../codec.js';
import { PREFIX, datagramSize, decodePrefixedFrame } from '../datagram.js';
import { ErrorCode, HopwireError } from '../errors.js';
import { type Frame, FrameKind, PROTOCOL_VERSION, encodeFrame } from '../frame.js';
import { type Hello, MAX_ID_LENGTH } from '../handshake.js';
import { errorPayload } from '../remote-error.js';
import { frameOf } from '../wire.js';

/** What {@link readPayload} checks a payload against. */
export interface PayloadLimits {
  /** Largest frame accepted (its length field). */
  readonly maxFrameBytes: number;
  /** Most attachments in the frame. */
  readonly maxAttachments: number;
}

/** Functions cannot travel over NATS: nothing would route the calls back. */
export const refuseFunctions: FunctionExporter = () => {
  throw new HopwireError(ErrorCode.UNSUPPORTED, 'a function cannot be sent over NATS (see docs/scaling.md)');
};

/** Encodes a value for the NATS transport (functions refused). @throws HopwireError `ERR_ENCODE`, `ERR_UNSUPPORTED` */
export function encodeValue(codec: Codec, value: unknown): EncodedValue {
  return codec.encode(value, refuseFunctions);
}

/**
 * The payload carrying an encoded value in a frame of `kind`.
 *
 * @throws HopwireError `ERR_PAYLOAD_TOO_LARGE` when it would be larger than
 * `maxPayload` (checked from the encoded sizes, before the frame is built)
 */
export function valuePayload(kind: FrameKind, e: EncodedValue, id: number, maxPayload: number): Buffer {
  const size = datagramSize(e);
  if (size > maxPayload) {
    throw new HopwireError(ErrorCode.PAYLOAD_TOO_LARGE, `the message needs ${size} bytes; the NATS server's max_payload is ${maxPayload}`);
  }
  return Buffer.concat([PREFIX, ...frameOf(kind, e, id)]);
}

/** The ERROR payload answering request `id` with `err`. */
export function errorFramePayload(id: number, err: unknown, withStack: boolean): Buffer {
  return Buffer.concat([PREFIX, ...encodeFrame({ kind: FrameKind.ERROR, id, payload: JSON.stringify(errorPayload(err, withStack)) })]);
}

/** A client's hello (or goodbye, with `kind` GOODBYE): its identity. */
export function helloPayload(kind: typeof FrameKind.HELLO | typeof FrameKind.GOODBYE, id: string): Buffer {
  const hello: Hello = { version: PROTOCOL_VERSION, min: PROTOCOL_VERSION, caps: [], id };
  return Buffer.concat([PREFIX, ...encodeFrame({ kind, payload: JSON.stringify(hello) })]);
}

/** The identity in a hello or goodbye frame, when it has a valid one. */
export function helloId(frame: Frame): string | undefined {
  try {
    const hello = JSON.parse(frame.payload.toString('utf8')) as Partial<Hello> | null;
    const id = hello?.id;
    return typeof id === 'string' && id !== '' && id.length <= MAX_ID_LENGTH ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Checks a payload and returns its frame. @throws HopwireError `ERR_FRAME_TOO_LARGE`, `ERR_PROTOCOL` */
export function readPayload(data: Uint8Array, limits: PayloadLimits): Frame {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return decodePrefixedFrame(bytes, limits, 'NATS message');
}
