/**
 * Shared helpers for tests that speak the hopwire wire format by hand: the
 * hello a peer sends, and byte strings cut into chunks.
 */
import { FrameKind, MAGIC, encodeFrameToBuffer } from '../../src/index.js';

/**
 * The bytes that open a hopwire connection from either side: the magic, then
 * a HELLO frame for protocol version 1 announcing `caps`.
 */
export function helloBytes(caps: readonly string[] = []): Buffer {
  return Buffer.concat([MAGIC, encodeFrameToBuffer({ kind: FrameKind.HELLO, payload: JSON.stringify({ version: 1, min: 1, caps }) })]);
}

/**
 * The hello of a peer with no capabilities (magic + HELLO frame with payload
 * `{"version":1,"min":1,"caps":[]}`): what a raw socket writes to pass for a
 * hopwire client, or a raw server answers to pass for a hopwire server.
 */
export const HELLO: Buffer = helloBytes();

/** Cuts `bytes` at the given offsets (any order, duplicates allowed); the chunks together are `bytes`. */
export function cut(bytes: Buffer, offsets: readonly number[]): Buffer[] {
  const points = [...new Set(offsets)].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

/** `bytes` as one chunk per byte. */
export function bytewise(bytes: Buffer): Buffer[] {
  return Array.from(bytes, (byte) => Buffer.from([byte]));
}
