/**
 * The hello exchange: what each side sends, how the version is agreed and,
 * with a shared secret, the challenge–response. Pure: frames in, frames out,
 * no sockets, no timers.
 *
 * ```
 * client                                   server
 *   MAGIC HELLO {version, min, caps, id, nonce?}  ─▶
 *                ◀─  MAGIC HELLO {version, min, caps, nonce?, proof?}
 *   (with a secret)  AUTH {proof}               ─▶
 *                ◀─  AUTH {ok: true}
 * ```
 *
 * A failure throws `ERR_VERSION`, `ERR_AUTH` or `ERR_PROTOCOL`; the
 * connection answers it with a GOODBYE and closes.
 *
 * @module
 */
import { createNonce, isNonce, proof, verifyProof } from './auth.js';
import { ErrorCode, HopwireError } from './errors.js';
import { type Frame, FrameKind, MAGIC, PROTOCOL_VERSION, encodeFrame } from './frame.js';

/** Oldest protocol version this release still speaks. */
export const MIN_PROTOCOL_VERSION = 1;

/** What a HELLO frame carries. */
export interface Hello {
  /** Highest protocol version the sender speaks. */
  version: number;
  /** Lowest protocol version the sender speaks. */
  min: number;
  /**
   * Optional features the sender supports: `'ack'` (acknowledged messages),
   * `'msgpack'` (it takes MessagePack payloads and would like them).
   */
  caps: string[];
  /** The client's identity, stable across its reconnects (clients only). */
  id?: string;
  /** The sender's fresh nonce, when it has a shared secret. */
  nonce?: string;
  /** The server's proof that it knows the secret. */
  proof?: string;
}

/** The capabilities this release announces. */
export const OUR_CAPS: readonly string[] = ['ack'];

/** Longest client identity accepted. */
export const MAX_ID_LENGTH = 128;

/** The capability a side announces with `codec: 'msgpack'`. */
export const MSGPACK_CAP = 'msgpack';

/** The HELLO this side sends, announcing {@link OUR_CAPS} and `extraCaps`. */
export function ourHello(id?: string, extraCaps: readonly string[] = []): Hello {
  const hello: Hello = { version: PROTOCOL_VERSION, min: MIN_PROTOCOL_VERSION, caps: [...OUR_CAPS, ...extraCaps] };
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
  const { version, min, caps, id, nonce, proof: serverProof } = data as Record<string, unknown>;
  if (!isVersion(version) || !isVersion(min) || min > version) {
    throw new HopwireError(ErrorCode.PROTOCOL, 'hello has no valid version range');
  }
  const list = Array.isArray(caps) ? caps.filter((c): c is string => typeof c === 'string').slice(0, 64) : [];
  const hello: Hello = { version, min, caps: list };
  if (typeof id === 'string' && id !== '' && id.length <= MAX_ID_LENGTH) hello.id = id;
  if (isNonce(nonce)) hello.nonce = nonce;
  if (typeof serverProof === 'string' && serverProof.length <= 64) hello.proof = serverProof;
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

/** Settings of a {@link Handshake}. */
export interface HandshakeOptions {
  /** Which side this is. */
  readonly role: 'client' | 'server';
  /** The client identity to announce (clients). */
  readonly identity?: string | undefined;
  /** The shared secret, when authentication is on. */
  readonly secret?: Buffer | undefined;
  /** Capabilities announced besides {@link OUR_CAPS} (`'msgpack'`). */
  readonly caps?: readonly string[];
}

/** What to do after a handshake frame. */
export interface HandshakeStep {
  /** Bytes to write. */
  readonly send: Buffer[];
  /** True when the handshake is complete. */
  readonly done: boolean;
}

type Stage = 'start' | 'hello' | 'auth' | 'done';

/** One side of the hello exchange, as a small state machine. */
export class Handshake {
  readonly #options: HandshakeOptions;
  #stage: Stage = 'start';
  #nonce: string | undefined;
  #peerNonce: string | undefined;
  #peer: Hello | undefined;
  #magicSent = false;

  /** @param options - role, identity and secret */
  constructor(options: HandshakeOptions) {
    this.#options = options;
  }

  /** The peer's hello, once received. */
  get peer(): Hello | undefined {
    return this.#peer;
  }

  /** True once this side has sent its MAGIC (a GOODBYE must be preceded by it). */
  get magicSent(): boolean {
    return this.#magicSent;
  }

  /** The client's opening bytes: MAGIC and HELLO. Servers send nothing first. */
  start(): Buffer[] {
    if (this.#options.role !== 'client' || this.#stage !== 'start') return [];
    this.#stage = 'hello';
    if (this.#options.secret !== undefined) this.#nonce = createNonce();
    return this.#hello({});
  }

  /**
   * Takes a HELLO or AUTH frame from the peer.
   *
   * @throws HopwireError `ERR_VERSION`, `ERR_AUTH` or `ERR_PROTOCOL`
   */
  receive(frame: Frame): HandshakeStep {
    if (frame.kind === FrameKind.HELLO && (this.#stage === 'start' || this.#stage === 'hello')) {
      const theirs = parseHello(frame.payload);
      agreeVersion(ourHello(), theirs);
      this.#peer = theirs;
      return this.#options.role === 'server' ? this.#serverHello(theirs) : this.#clientHello(theirs);
    }
    if (frame.kind === FrameKind.AUTH && this.#stage === 'auth') {
      return this.#options.role === 'server' ? this.#serverAuth(frame) : this.#clientAuth(frame);
    }
    throw new HopwireError(ErrorCode.PROTOCOL, `unexpected frame of kind ${frame.kind} during the hello`);
  }

  #serverHello(theirs: Hello): HandshakeStep {
    const secret = this.#options.secret;
    if (secret === undefined) {
      this.#stage = 'done';
      return { send: this.#hello({}), done: true };
    }
    if (theirs.nonce === undefined) throw authError('this server requires a shared secret; the client sent no credentials');
    this.#peerNonce = theirs.nonce;
    this.#nonce = createNonce();
    this.#stage = 'auth';
    return { send: this.#hello({ proof: proof(secret, 'server', theirs.nonce, this.#nonce) }), done: false };
  }

  #clientHello(theirs: Hello): HandshakeStep {
    const secret = this.#options.secret;
    const myNonce = this.#nonce;
    if (secret === undefined || myNonce === undefined) {
      if (theirs.nonce !== undefined) throw authError('the server requires a shared secret; set the secret option');
      this.#stage = 'done';
      return { send: [], done: true };
    }
    if (theirs.nonce === undefined || !verifyProof(secret, 'server', myNonce, theirs.nonce, theirs.proof)) {
      throw authError('the server did not prove it knows the shared secret');
    }
    this.#stage = 'auth';
    const payload = JSON.stringify({ proof: proof(secret, 'client', myNonce, theirs.nonce) });
    return { send: encodeFrame({ kind: FrameKind.AUTH, payload }), done: false };
  }

  #serverAuth(frame: Frame): HandshakeStep {
    const secret = this.#options.secret;
    const [clientNonce, serverNonce] = [this.#peerNonce, this.#nonce];
    if (secret === undefined || clientNonce === undefined || serverNonce === undefined) throw authError('unexpected AUTH');
    const received = readJson(frame.payload)?.proof;
    if (!verifyProof(secret, 'client', clientNonce, serverNonce, received)) throw authError('wrong shared secret');
    this.#stage = 'done';
    return { send: encodeFrame({ kind: FrameKind.AUTH, payload: '{"ok":true}' }), done: true };
  }

  #clientAuth(frame: Frame): HandshakeStep {
    if (readJson(frame.payload)?.ok !== true) throw authError('the server refused the credentials');
    this.#stage = 'done';
    return { send: [], done: true };
  }

  /** MAGIC and our HELLO (with our nonce, if any). */
  #hello(extra: Partial<Hello>): Buffer[] {
    const hello: Hello = { ...ourHello(this.#options.role === 'client' ? this.#options.identity : undefined, this.#options.caps), ...extra };
    if (this.#nonce !== undefined) hello.nonce = this.#nonce;
    this.#magicSent = true;
    return [MAGIC, ...encodeFrame({ kind: FrameKind.HELLO, payload: JSON.stringify(hello) })];
  }
}

function authError(message: string): HopwireError {
  return new HopwireError(ErrorCode.AUTH, message);
}

function readJson(payload: Buffer): Record<string, unknown> | undefined {
  try {
    const data: unknown = JSON.parse(payload.toString('utf8'));
    return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
