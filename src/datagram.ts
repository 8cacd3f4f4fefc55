/**
 * One message per UDP datagram: the datagram layout, its size limits, and
 * the encoder and decoder. Pure — no sockets, no timers — so it is tested
 * byte by byte; `udp-server.ts` and `udp-client.ts` move the bytes.
 *
 * ```
 * offset size field
 *  0      4   MAGIC        "\x89HOP", as on a stream
 *  4      1   version      PROTOCOL_VERSION (1)
 *  5      …   one MESSAGE frame (see frame.ts), filling the rest exactly
 * ```
 *
 * There is no hello on UDP, so each datagram says which version it speaks.
 * Anything else — too short, another magic or version, another frame kind,
 * an ACK request (a non-zero id), the STREAM flag, bytes after the frame, a
 * frame over the limits — is refused with `ERR_PROTOCOL`,
 * `ERR_FRAME_TOO_LARGE` or `ERR_DATAGRAM_TOO_LARGE`.
 *
 * @module
 */
import type { Codec, EncodedValue, FunctionExporter } from './codec.js';
import type { ReceiveMeta } from './connection-types.js';
import { ErrorCode, HopwireError } from './errors.js';
import { type Frame, FrameFlags, FrameKind, HEADER_BYTES, MAGIC, PROTOCOL_VERSION } from './frame.js';
import { FrameDecoder, payloadText } from './frame-decoder.js';
import { frameOf } from './wire.js';

/** Bytes before the frame: the magic and the version. */
export const DATAGRAM_PREFIX_BYTES = MAGIC.length + 1;

/** Largest UDP payload over IPv4: 65,535 − 20 (IP header) − 8 (UDP header). */
export const MAX_DATAGRAM_BYTES_IPV4 = 65_507;

/** Largest UDP payload over IPv6: 65,535 − 8 (UDP header); the IPv6 header is not counted. */
export const MAX_DATAGRAM_BYTES_IPV6 = 65_527;

/** Smallest `maxDatagramBytes` accepted: room for the prefix, a header and a short value. */
export const MIN_DATAGRAM_BYTES = 64;

/** The magic and the version, in front of the frame. */
export const PREFIX: Readonly<Buffer> = Buffer.concat([MAGIC, Buffer.from([PROTOCOL_VERSION])]);

/** What {@link readDatagram} checks a datagram against. */
export interface DatagramLimits {
  /** Largest datagram accepted, in bytes. */
  readonly maxDatagramBytes: number;
  /** Largest frame accepted (its length field). */
  readonly maxFrameBytes: number;
  /** Most attachments in the frame. */
  readonly maxAttachments: number;
}

/** A message read from a datagram. */
export interface ReceivedDatagram {
  /** The decoded value. */
  readonly value: unknown;
  /** Its type name and framing. */
  readonly meta: ReceiveMeta;
}

/**
 * The largest datagram this side sends and accepts: the configured
 * `maxDatagramBytes`, lowered to what the address family can carry.
 */
export function datagramLimit(family: 4 | 6, configured: number | undefined): number {
  const max = family === 4 ? MAX_DATAGRAM_BYTES_IPV4 : MAX_DATAGRAM_BYTES_IPV6;
  return configured === undefined ? max : Math.min(configured, max);
}

/** Functions cannot travel in a datagram: nobody could call them back. */
const refuseFunctions: FunctionExporter = () => {
  throw new HopwireError(ErrorCode.UNSUPPORTED, 'a function cannot be sent in a UDP datagram (no reply channel to call it back)');
};

/**
 * Encodes a value as one datagram, ready for `socket.send(parts)`.
 *
 * @throws HopwireError `ERR_DATAGRAM_TOO_LARGE` when it would be larger than
 * `maxBytes` (checked from the encoded sizes, before the frame is built),
 * `ERR_ENCODE` for a value that cannot be sent, `ERR_UNSUPPORTED` for a value
 * holding a function
 */
export function writeDatagram(codec: Codec, value: unknown, maxBytes: number): Buffer[] {
  return encodeDatagram(codec.encode(value, refuseFunctions), maxBytes);
}

/** Puts an encoded value in a datagram. @throws HopwireError `ERR_DATAGRAM_TOO_LARGE` */
export function encodeDatagram(e: EncodedValue, maxBytes: number): Buffer[] {
  const size = datagramSize(e);
  if (size > maxBytes) {
    throw new HopwireError(ErrorCode.DATAGRAM_TOO_LARGE, `the message needs a datagram of ${size} bytes; maxDatagramBytes is ${maxBytes}`);
  }
  return [PREFIX, ...frameOf(FrameKind.MESSAGE, e)];
}

/** Bytes of the datagram that would carry `e`. */
export function datagramSize(e: EncodedValue): number {
  let size = DATAGRAM_PREFIX_BYTES + HEADER_BYTES + Buffer.byteLength(e.type, 'utf8') + Buffer.byteLength(e.payload, 'utf8');
  for (const a of e.attachments) size += 4 + a.byteLength;
  return size;
}

/**
 * Checks a datagram and returns its MESSAGE frame.
 *
 * @throws HopwireError `ERR_DATAGRAM_TOO_LARGE`, `ERR_FRAME_TOO_LARGE` or
 * `ERR_PROTOCOL`: the datagram is to be dropped
 */
export function decodeDatagram(datagram: Buffer, limits: DatagramLimits): Frame {
  if (datagram.length > limits.maxDatagramBytes) {
    throw new HopwireError(ErrorCode.DATAGRAM_TOO_LARGE, `datagram of ${datagram.length} bytes is larger than maxDatagramBytes (${limits.maxDatagramBytes})`);
  }
  const frame = decodePrefixedFrame(datagram, limits, 'datagram');
  if (frame.kind !== FrameKind.MESSAGE) throw protocolError(`datagram carries a frame of kind ${frame.kind}; only MESSAGE frames travel over UDP`);
  if (frame.id !== 0) throw protocolError('datagram asks for an acknowledgement, which UDP does not give');
  if ((frame.flags & ~FrameFlags.TAGGED) !== 0) throw protocolError(`datagram frame has flags 0x${frame.flags.toString(16)}; only TAGGED is allowed`);
  return frame;
}

/**
 * Checks the magic and version in front of exactly one frame, and returns
 * the frame: the layout of a datagram, and of a NATS message payload.
 * `what` names the carrier in error messages.
 *
 * @throws HopwireError `ERR_FRAME_TOO_LARGE` or `ERR_PROTOCOL`
 */
export function decodePrefixedFrame(bytes: Buffer, limits: Pick<DatagramLimits, 'maxFrameBytes' | 'maxAttachments'>, what: string): Frame {
  if (bytes.length < DATAGRAM_PREFIX_BYTES + HEADER_BYTES) throw protocolError(`${what} of ${bytes.length} bytes is too short to hold a frame`);
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw protocolError(`${what} does not start with the hopwire magic`);
  const version = bytes[MAGIC.length];
  if (version !== PROTOCOL_VERSION) throw protocolError(`${what} of protocol version ${String(version)}; this side speaks ${PROTOCOL_VERSION}`);
  const decoder = new FrameDecoder({ maxFrameBytes: limits.maxFrameBytes, maxAttachments: limits.maxAttachments });
  const frames = decoder.push(bytes.subarray(DATAGRAM_PREFIX_BYTES));
  const frame = frames[0];
  if (frame === undefined) throw protocolError(`${what} holds a truncated frame`);
  if (frames.length > 1 || decoder.failed || decoder.bufferedBytes > 0) throw protocolError(`${what} has bytes after its frame`);
  return frame;
}

/**
 * Checks a datagram and decodes its value with the codec (functions inside
 * are refused, as nobody could call them back).
 *
 * @throws HopwireError as {@link decodeDatagram}, or `ERR_DECODE`
 */
export function readDatagram(datagram: Buffer, codec: Codec, limits: DatagramLimits): ReceivedDatagram {
  return decodeFrameValue(codec, decodeDatagram(datagram, limits));
}

/** Decodes the value of a frame that travelled alone (a datagram, a NATS message), without functions. @throws HopwireError `ERR_DECODE` */
export function decodeFrameValue(codec: Codec, frame: Frame): ReceivedDatagram {
  const d = codec.decode(frame.type, payloadText(frame), frame.attachments, (frame.flags & FrameFlags.TAGGED) !== 0);
  return { value: d.value, meta: { type: d.type, known: d.known, unknownTypes: d.unknownTypes, protocol: 'binary' } };
}

function protocolError(message: string): HopwireError {
  return new HopwireError(ErrorCode.PROTOCOL, message);
}
