/**
 * The hello exchange, as pure functions: what each side sends and how the
 * version is agreed. The client speaks first (MAGIC, then a HELLO frame); the
 * server answers with its own MAGIC and HELLO, or with a GOODBYE carrying
 * `ERR_VERSION` when no version suits both.
 *
 * @module
 */
import { ErrorCode, HopwireError } from './errors.js';
import { PROTOCOL_VERSION } from './frame.js';

/** Oldest protocol version this release still speaks. */
export const MIN_PROTOCOL_VERSION = 1;

/** What a HELLO frame carries. */
export interface Hello {
  /** Highest protocol version the sender speaks. */
  version: number;
  /** Lowest protocol version the sender speaks. */
  min: number;
  /** Optional features the sender supports: `'ack'` (acknowledged messages). */
  caps: string[];
  /** The client's identity, stable across its reconnects (clients only). */
  id?: string;
}

/** The capabilities this release announces. */
export const OUR_CAPS: readonly string[] = ['ack'];

/** Longest client identity accepted. */
export const MAX_ID_LENGTH = 128;

/** The HELLO this side sends. */
export function ourHello(id?: string): Hello {
  const hello: Hello = { version: PROTOCOL_VERSION, min: MIN_PROTOCOL_VERSION, caps: [...OUR_CAPS] };
  if (id !== undefined) hello.id = id;
  return hello;
}

/**
 * Parses and checks a HELLO payload.
 *
 * @throws HopwireError `ERR_PROTOCOL` when it is not a valid hello.
 */
export function parseHello(payload: Buffer): Hello {
  let data: unknown;
  try {
    data = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new HopwireError(ErrorCode.PROTOCOL, 'hello payload is not JSON');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new HopwireError(ErrorCode.PROTOCOL, 'hello payload is not an object');
  }
  const { version, min, caps, id } = data as Record<string, unknown>;
  if (!isVersion(version) || !isVersion(min) || min > version) {
    throw new HopwireError(ErrorCode.PROTOCOL, 'hello has no valid version range');
  }
  const list = Array.isArray(caps) ? caps.filter((c): c is string => typeof c === 'string').slice(0, 64) : [];
  const hello: Hello = { version, min, caps: list };
  if (typeof id === 'string' && id !== '' && id.length <= MAX_ID_LENGTH) hello.id = id;
  return hello;
}

/**
 * The version both sides speak: the highest one in both ranges.
 *
 * @throws HopwireError `ERR_VERSION` when the ranges do not overlap.
 */
export function agreeVersion(ours: Hello, theirs: Hello): number {
  const version = Math.min(ours.version, theirs.version);
  if (version < Math.max(ours.min, theirs.min)) {
    throw new HopwireError(
      ErrorCode.VERSION,
      `peer speaks protocol versions ${theirs.min}–${theirs.version}, this side ${ours.min}–${ours.version}`,
    );
  }
  return version;
}

function isVersion(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 0xffff;
}
