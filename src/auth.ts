/**
 * Shared-secret authentication, as pure functions: fresh nonces and HMAC-SHA256
 * proofs compared in constant time. The secret never crosses the wire; each
 * side proves it knows it by keying an HMAC over both sides' nonces.
 *
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of a nonce. */
export const NONCE_BYTES = 32;

/** Who is proving. Part of the MAC input, so a proof can never be replayed by the other side. */
export type Prover = 'client' | 'server';

/** A fresh random nonce, base64. */
export function createNonce(): string {
  return randomBytes(NONCE_BYTES).toString('base64');
}

/** True for a string that decodes to exactly {@link NONCE_BYTES} bytes of base64. */
export function isNonce(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 64 && Buffer.from(value, 'base64').length === NONCE_BYTES;
}

/**
 * The proof `prover` sends: HMAC-SHA256 keyed with the secret over a label,
 * the client's nonce and the server's nonce.
 */
export function proof(secret: Buffer, prover: Prover, clientNonce: string, serverNonce: string): string {
  return createHmac('sha256', secret).update(`hopwire-auth-v1|${prover}|${clientNonce}|${serverNonce}`).digest('base64');
}

/** Checks a received proof in constant time. */
export function verifyProof(secret: Buffer, prover: Prover, clientNonce: string, serverNonce: string, received: unknown): boolean {
  if (typeof received !== 'string') return false;
  const expected = Buffer.from(proof(secret, prover, clientNonce, serverNonce), 'base64');
  const got = Buffer.from(received, 'base64');
  return got.length === expected.length && timingSafeEqual(got, expected);
}
