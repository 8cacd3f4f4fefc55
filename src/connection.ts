/**
 * One socket, for both sides: framing detection, the hello, the frame loop,
 * sending, heartbeat and teardown. {@link Session} (server side) and
 * {@link Client} hold one each and add only what differs.
 *
 * The connection owns the socket and the state; the other jobs are
 * collaborators in files of their own, each behind a small interface:
 * `responder.ts` answers the peer's requests, `replies.ts` settles this
 * side's, `payload-codec.ts` turns values into payloads and back,
 * `lines-peer.ts` is the JSON-lines side, `goodbye.ts` reads and writes
 * GOODBYE payloads and `socket-writer.ts` batches writes; what the
 * connection and its owner exchange is in `connection-types.ts`.
 *
 * A connection never throws at its owner and never emits `'error'`: whatever
 * the peer sends, the worst outcome is a closed connection whose
 * {@link DisconnectInfo} says why.
 *
 * @module
 */
import type { Socket } from 'node:net';
import type { EncodedValue } from './codec.js';
import { debug } from './debug.js';
import { ErrorCode, HopwireError, toError } from './errors.js';
import { type Frame, FrameFlags, FrameKind, MAGIC, encodeFrame } from './frame.js';
import { FrameDecoder } from './frame-decoder.js';
import { goodbyeInfo, goodbyePayload } from './goodbye.js';
import { Handshake, type Hello, MSGPACK_CAP } from './handshake.js';
import { Heartbeat } from './heartbeat.js';
import { LinesPeer } from './lines-peer.js';
import type { ConnectionHost, ConnectionSettings, ReceiveMeta } from './connection-types.js';
import { PendingRequests } from './pending-requests.js';
import { Replies } from './replies.js';
import { MessageIterator } from './message-iterator.js';
import { SocketWriter } from './socket-writer.js';
import { type AnyFunction, RemoteFunctions } from './remote-functions.js';
import { PayloadCodec } from './payload-codec.js';
import { Responder } from './responder.js';
import { encodeLinesMessage, frameOf } from './wire.js';
import { type ConnectionCounters, newCounters } from './stats.js';
import { channel } from 'node:diagnostics_channel';
import type { DisconnectInfo, PayloadFormat, Protocol, RequestOptions } from './types.js';

/** Most stream items buffered for a `requestStream()` loop that falls behind (then `ERR_QUEUE_FULL`). */
const STREAM_BUFFER = 65_536;

/** The frame size limit while the hello is under way. */
const HELLO_MAX_FRAME_BYTES = 64 * 1024;

/** How long a closing connection waits for the peer to close its side before destroying the socket. */
const CLOSE_GRACE_MS = 1_000;

/**
 * `diagnostics_channel` channels: tools can observe frames and connections
 * without patching hopwire. `hopwire:frame` gets `{ connection, frame }` for
 * every binary frame received; `hopwire:connection` gets `{ connection,
 * event: 'ready' | 'close', info? }`.
 */
export const frameChannel = channel('hopwire:frame');
/** See {@link frameChannel}. */
export const connectionChannel = channel('hopwire:connection');

type State = 'detecting' | 'handshaking' | 'ready' | 'closing' | 'closed';

/** One socket speaking hopwire frames or JSON lines. */
export class Connection {
  readonly #socket: Socket;
  readonly #settings: ConnectionSettings;
  readonly #host: ConnectionHost;
  readonly #pending: PendingRequests;
  readonly #heartbeat: Heartbeat | undefined;
  readonly #abort = new AbortController();
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;
  #state: State;
  #protocol: Protocol | undefined;
  #frames: FrameDecoder | undefined;
  #lines: LinesPeer | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #handshake: Handshake;
  /** What this connection counted (see `stats()` on Session and Client). */
  readonly counters: ConnectionCounters = newCounters();
  /** When the last byte was received (ms since the epoch). */
  lastActivity = Date.now();
  readonly #writer: SocketWriter;
  readonly #functions: RemoteFunctions;
  readonly #payloads: PayloadCodec;
  readonly #replies: Replies;
  readonly #responder: Responder;
  #info: DisconnectInfo | undefined;

  /**
   * @param socket - a connected socket
   * @param settings - resolved options plus role and framing
   * @param host - the owner to report to
   */
  constructor(socket: Socket, settings: ConnectionSettings, host: ConnectionHost) {
    this.#socket = socket;
    this.#settings = settings;
    this.#host = host;
    this.#pending = new PendingRequests({
      maxPending: settings.maxPendingRequests,
      onTimeout: () => {
        this.counters.requestsTimedOut++;
      },
    });
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#writer = new SocketWriter(socket, this.counters);
    this.#functions = new RemoteFunctions(settings.maxRemoteFunctions);
    this.#payloads = new PayloadCodec(settings, this.#functions, (call) => this.requestEncoded(call));
    this.#replies = new Replies(this.#pending, this.#payloads, this.counters);
    this.#responder = new Responder(
      {
        isReady: () => this.#state === 'ready',
        handle: (value, meta) => this.#host.onRequest(this, value, meta, this.#abort.signal),
        writeValue: (kind, e, id, flags) => this.#writeValue(kind, e, id, flags),
        pauseReads: () => {
          this.#socket.pause();
          // The peer is not the slow one: its pongs wait unread, so do not count them as missed.
          this.#heartbeat?.stop();
        },
        resumeReads: () => {
          this.#resumeReads();
        },
      },
      settings,
      this.#writer,
      this.#payloads,
      this.counters,
    );
    this.#handshake = new Handshake({ role: settings.role, identity: settings.identity, secret: settings.secret, caps: settings.msgpack === undefined ? [] : [MSGPACK_CAP] });
    if (settings.ping !== false) {
      this.#heartbeat = new Heartbeat(
        {
          sendPing: () => {
            if (this.#lines?.sockhop !== undefined) this.#lines.ping();
            else this.#writeControl(FrameKind.PING);
          },
          onDead: (n) => {
            this.#onDead(n);
          },
        },
        settings.ping,
      );
    }
    socket.setNoDelay(true); // a no-op on Unix sockets
    socket.on('data', this.#onData);
    socket.on('error', this.#onSocketError);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onSocketClose);

    if (settings.framing === 'auto') {
      this.#state = 'detecting';
      this.#startTimer(settings.detectTimeout, () => { this.#detected('lines'); });
    } else if (settings.framing === 'lines') {
      this.#state = 'detecting';
      queueMicrotask(() => { this.#detected('lines'); });
    } else {
      this.#state = 'handshaking';
      this.#useBinary();
      this.#writeRaw(...this.#handshake.start());
    }
  }

  /** The framing, once known. */
  get protocol(): Protocol | undefined {
    return this.#protocol;
  }

  /** The payload format agreed in the hello; `'json'` before it and for JSON-lines peers. */
  get payloadFormat(): PayloadFormat {
    return this.#payloads.format;
  }

  /** True between the end of the hello and the start of closing. */
  get ready(): boolean {
    return this.#state === 'ready';
  }

  /** True once the socket is gone. */
  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** Why it ended, once it has. */
  get disconnectInfo(): DisconnectInfo | undefined {
    return this.#info;
  }

  /** The peer's address (TCP) or `undefined` (Unix sockets). */
  get remoteAddress(): string | undefined {
    return this.#socket.remoteAddress;
  }

  /** The peer's port (TCP). */
  get remotePort(): number | undefined {
    return this.#socket.remotePort;
  }

  /** Requests waiting for a reply. */
  get pendingRequests(): number {
    return this.#pending.size;
  }

  /** Bytes waiting in the socket's write buffer. */
  get writableLength(): number {
    return this.#socket.writableLength + this.#writer.pendingBytes;
  }

  /** Resolves once the socket has closed. */
  get whenClosed(): Promise<void> {
    return this.#closed;
  }

  /** Sends one message; resolves when its bytes are handed to the OS. */
  send(value: unknown): Promise<void> {
    const refusal = this.writeRefusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    try {
      if (this.#protocol === 'lines') {
        const parts = this.encodeMessage(value);
        this.counters.messagesOut++;
        return this.#write(parts);
      }
      const e = this.#payloads.encode(value);
      this.counters.messagesOut++;
      return this.#writeValue(FrameKind.MESSAGE, e, 0, 0);
    } catch (err) {
      return Promise.reject(toError(err));
    }
  }

  /** Sends a MESSAGE asking for an ACK with id `seq`; resolves when written (the ACK comes to the host). */
  sendAcked(seq: number, encoded: EncodedValue): Promise<void> {
    const refusal = this.#refuseSend();
    if (refusal !== undefined) return Promise.reject(refusal);
    this.counters.messagesOut++;
    return this.#writeValue(FrameKind.MESSAGE, encoded, seq, 0);
  }

  /**
   * Encodes a message once, for this connection's framing; {@link sendEncoded}
   * writes it. `Server.sendAll` uses this to encode once per framing.
   */
  encodeMessage(value: unknown): Buffer[] {
    if (this.#protocol !== 'lines') return frameOf(FrameKind.MESSAGE, this.#payloads.encode(value));
    return [encodeLinesMessage(this.#settings, value)];
  }

  /** Writes what {@link encodeMessage} produced. */
  sendEncoded(parts: Buffer[]): Promise<void> {
    const refusal = this.writeRefusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    this.counters.messagesOut++;
    return this.#write(parts);
  }

  /**
   * Writes the frame at `buf[start, end)`, a buffer other connections write
   * from too, without copying it (see `SocketWriter.writeShared`):
   * `Server.sendAll` puts each broadcast frame in such a buffer once.
   */
  sendShared(buf: Buffer, start: number, end: number): Promise<void> {
    const refusal = this.writeRefusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    this.counters.messagesOut++;
    return this.#writer.writeShared(buf, start, end);
  }

  /** Sends a request; resolves with the reply. */
  request(value: unknown, options: RequestOptions = {}): Promise<unknown> {
    const dialect = this.#lines?.requests;
    if (dialect !== undefined && this.#state === 'ready') {
      this.counters.requestsSent++;
      return dialect.request(value, options);
    }
    let encoded: EncodedValue<string | Buffer>;
    let ids: readonly number[];
    try {
      ({ result: encoded, ids } = this.#functions.collect(this.#payloads.encode, value));
    } catch (err) {
      return Promise.reject(toError(err));
    }
    const reply = this.requestEncoded(encoded, options);
    if (ids.length === 0) return reply;
    // Functions sent inside a request live until it settles.
    const release = (): void => {
      for (const id of ids) this.#functions.release(id);
    };
    reply.then(release, release);
    return reply;
  }

  /**
   * Sends a request whose handler may answer with a stream (an async iterable
   * or a generator): yields each item as it arrives. A handler that returns a
   * plain value gives one item. The timeout covers the whole stream (0: none).
   */
  requestStream(value: unknown, options: RequestOptions = {}): AsyncIterableIterator<unknown> {
    const it = new MessageIterator<unknown>(STREAM_BUFFER, () => undefined);
    const sockhop = this.#lines?.sockhop;
    if (sockhop !== undefined && this.#state === 'ready') {
      this.counters.requestsSent++;
      sockhop.requestStream(value, it, options);
      return it;
    }
    const refusal = this.writeRefusal() ?? (this.#protocol === 'lines' ? new HopwireError(ErrorCode.UNSUPPORTED, 'a JSON-lines peer cannot answer requests') : undefined);
    if (refusal !== undefined) {
      it.fail(refusal);
      return it;
    }
    let e: EncodedValue<string | Buffer>;
    let entry: { id: number; promise: Promise<unknown> };
    try {
      e = this.#payloads.encode(value);
      entry = this.#pending.add(options.timeout ?? this.#settings.requestTimeout, options.signal);
    } catch (err) {
      it.fail(toError(err));
      return it;
    }
    const { id, promise } = entry;
    this.#replies.stream(id, promise, it);
    this.#writeRequest(e, id, FrameFlags.STREAM);
    return it;
  }

  /** Stops serving a function this side sent inside a value; later calls from the peer get `ERR_RELEASED`. */
  release(fn: AnyFunction): boolean {
    return this.#functions.release(fn);
  }

  /** Functions this side holds for the peer. */
  get heldFunctions(): number {
    return this.#functions.size;
  }

  /** Sends an already encoded request (JSON, or MessagePack when agreed); resolves with the reply. */
  requestEncoded(encoded: EncodedValue<string | Buffer>, options: RequestOptions = {}): Promise<unknown> {
    const refusal = this.writeRefusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    if (this.#protocol === 'lines') {
      return Promise.reject(new HopwireError(ErrorCode.UNSUPPORTED, 'a JSON-lines peer cannot answer requests (turn on jsonRpc, or envelope: "sockhop" for sockhop peers)'));
    }
    let id: number;
    let promise: Promise<unknown>;
    try {
      ({ id, promise } = this.#pending.add(options.timeout ?? this.#settings.requestTimeout, options.signal));
    } catch (err) {
      return Promise.reject(toError(err));
    }
    this.#writeRequest(encoded, id, 0);
    return promise;
  }

  /** Whether the peer announced a capability in its hello (`'ack'`, …). */
  peerCan(cap: string): boolean {
    return this.#handshake.peer?.caps.includes(cap) === true;
  }

  /**
   * Closes gracefully: says goodbye, ends the socket, and destroys it if the
   * peer has not closed its side within a second. Resolves once closed.
   */
  close(why = 'closing'): Promise<void> {
    this.#shutdown({ reason: 'closed', message: `closed by this side (${why})` }, true, undefined, why);
    return this.#closed;
  }

  /** Closes at once, without a goodbye. */
  destroy(info: DisconnectInfo = { reason: 'closed', message: 'destroyed by this side' }): void {
    this.#info ??= info;
    this.#socket.destroy();
  }

  // ---- receiving ---------------------------------------------------------

  readonly #onData = (chunk: Buffer): void => {
    this.counters.bytesIn += chunk.length;
    this.lastActivity = Date.now();
    if (this.#state === 'closing' || this.#state === 'closed') return;
    if (this.#state === 'detecting') {
      if (chunk.length === 0) return;
      if (chunk[0] === MAGIC[0]) {
        this.#clearTimer();
        this.#state = 'handshaking';
        this.#useBinary();
      } else {
        this.#detected('lines');
        if ((this.#state as State) !== 'ready') return;
      }
    }
    if (this.#frames !== undefined) this.#receiveFrames(chunk, this.#frames);
    else if (this.#lines !== undefined) this.#lines.receive(chunk);
  };

  #receiveFrames(chunk: Buffer, decoder: FrameDecoder): void {
    try {
      decoder.feed(chunk);
    } catch (err) {
      this.#protocolError(err);
      return;
    }
    this.#heartbeat?.alive();
    this.#drainFrames(decoder);
  }

  /**
   * Takes frames from the decoder one at a time and handles each before
   * decoding the next, so what a frame changes (the end of the hello raising
   * the frame limit) applies to the following ones. While the request
   * handlers are saturated it stops: the rest stays in the decoder (reads are
   * paused too) until handlers finish — a flood is held back, never refused.
   */
  #drainFrames(decoder: FrameDecoder): void {
    while (!this.#responder.saturated) {
      if (this.#state === 'closing' || this.#state === 'closed') return;
      let frame: Frame | undefined;
      try {
        frame = decoder.next();
      } catch (err) {
        this.#protocolError(err);
        return;
      }
      if (frame === undefined) return;
      if (frameChannel.hasSubscribers) frameChannel.publish({ connection: this, frame });
      try {
        this.#onFrame(frame);
      } catch (err) {
        this.#protocolError(err);
        return;
      }
    }
  }

  #onFrame(frame: Frame): void {
    if (this.#state === 'handshaking') {
      if (frame.kind === FrameKind.GOODBYE) this.#onGoodbye(frame);
      else this.#onHandshakeFrame(frame);
      return;
    }
    switch (frame.kind) {
      case FrameKind.MESSAGE:
        this.#onMessage(frame);
        return;
      case FrameKind.REQUEST:
        this.#responder.serve(frame);
        return;
      case FrameKind.REPLY:
        this.#replies.reply(frame);
        return;
      case FrameKind.ERROR:
        this.#replies.error(frame);
        return;
      case FrameKind.PING:
        this.#writeControl(FrameKind.PONG);
        return;
      case FrameKind.PONG:
        return; // alive() already ran
      case FrameKind.GOODBYE:
        this.#onGoodbye(frame);
        return;
      case FrameKind.ACK:
        this.#host.onAck?.(this, frame.id);
        return;
      default:
        throw new HopwireError(ErrorCode.PROTOCOL, `unexpected frame of kind ${frame.kind} after the hello`);
    }
  }

  #onHandshakeFrame(frame: Frame): void {
    let step;
    try {
      step = this.#handshake.receive(frame);
    } catch (err) {
      this.#protocolError(err);
      return;
    }
    this.#writeRaw(...step.send);
    if (step.done) this.#becomeReady();
  }

  #onGoodbye(frame: Frame): void {
    this.#shutdown(goodbyeInfo(frame.payload), false);
  }

  #onMessage(frame: Frame): void {
    const d = this.#payloads.decode(frame);
    this.#deliver(d.value, { type: d.type, known: d.known, unknownTypes: d.unknownTypes, protocol: 'binary' }, frame.id);
    if (frame.id !== 0 && this.#state === 'ready') this.#writeRaw(...encodeFrame({ kind: FrameKind.ACK, id: frame.id }));
  }

  /** The request handlers are down to half of `maxPendingRequests`: the frames held back first, then reads again. */
  #resumeReads(): void {
    if (this.#frames !== undefined) this.#drainFrames(this.#frames); // what was held back while saturated
    if (this.#responder.saturated || this.#state !== 'ready') return; // the held frames filled the handlers again, or closed the connection
    this.#startHeartbeat();
    this.#socket.resume();
  }

  #deliver(value: unknown, meta: ReceiveMeta, seq: number, reply?: (value: unknown) => Promise<void>): void {
    this.counters.messagesIn++;
    try {
      this.#host.onMessage(this, value, meta, seq, reply);
    } catch (err) {
      this.#host.onListenerError(this, err);
    }
  }

  // ---- sending -------------------------------------------------------------

  /**
   * Why a message written now would be refused, or `undefined` when it
   * would be queued: the connection is not ready, closing or closed
   * (`ERR_NOT_CONNECTED`, `ERR_CLOSED`), its socket can no longer be
   * written, or more than `maxWriteBuffer` bytes already wait
   * (`ERR_BUFFER_FULL`). Every send checks it; `Server.sendAll` asks first,
   * so that a session it skips is not counted.
   */
  writeRefusal(): HopwireError | undefined {
    return this.#refuseSend() ?? this.#bufferFull();
  }

  #bufferFull(): HopwireError | undefined {
    const held = this.writableLength;
    if (held <= this.#settings.maxWriteBuffer) return undefined;
    return new HopwireError(ErrorCode.BUFFER_FULL, `${held} bytes are waiting to be written (maxWriteBuffer ${this.#settings.maxWriteBuffer}): the peer reads too slowly`);
  }

  /** What sends and pending requests get once the connection is closing or closed: ERR_CLOSED if this side closed it. */
  #goneError(): HopwireError {
    return this.#info?.reason === 'closed'
      ? new HopwireError(ErrorCode.CLOSED, 'the connection was closed')
      : new HopwireError(ErrorCode.NOT_CONNECTED, `the connection is gone: ${this.#info?.message ?? 'closing'}`);
  }

  #refuseSend(): HopwireError | undefined {
    if (this.#state === 'ready') {
      // Ended or destroyed before its close was handled: nothing written now would leave.
      return this.#socket.writable ? undefined : new HopwireError(ErrorCode.NOT_CONNECTED, 'the connection can no longer be written to');
    }
    if (this.#state === 'closing' || this.#state === 'closed') return this.#goneError();
    return new HopwireError(ErrorCode.NOT_CONNECTED, 'the connection is not ready yet');
  }

  #write(parts: Buffer[]): Promise<void> {
    return this.#writer.write(parts);
  }

  /**
   * Writes the REQUEST frame of pending request `id`, not waited for: a
   * write that fails closes the socket, and closing rejects every pending
   * request. A type name too long for the frame rejects `id` at once.
   */
  #writeRequest(e: EncodedValue<string | Buffer>, id: number, flags: number): void {
    this.counters.requestsSent++;
    try {
      this.#writer.writeValueNow(FrameKind.REQUEST, e, id, flags);
    } catch (err) {
      this.#pending.reject(id, toError(err));
    }
  }

  /** Writes an encoded value as a frame (see `SocketWriter.writeValue`); a type name too long for the frame rejects. */
  #writeValue(kind: FrameKind, e: EncodedValue<string | Buffer>, id: number, flags: number): Promise<void> {
    try {
      return this.#writer.writeValue(kind, e, id, flags);
    } catch (err) {
      return Promise.reject(toError(err));
    }
  }

  #writeRaw(...parts: Buffer[]): void {
    this.#writer.writeNow(parts);
  }

  #writeControl(kind: FrameKind, payload = ''): void {
    this.#writeRaw(...encodeFrame({ kind, payload }));
  }

  // ---- lifecycle -----------------------------------------------------------

  #useBinary(): void {
    this.#protocol = 'binary';
    // Until the hello is done a peer gets little room: nobody buffers 16 MiB for a stranger.
    const helloLimit = Math.min(HELLO_MAX_FRAME_BYTES, this.#settings.maxFrameBytes);
    this.#frames = new FrameDecoder({ maxFrameBytes: helloLimit, maxAttachments: this.#settings.maxAttachments, expectMagic: true });
    this.#startTimer(this.#settings.handshakeTimeout, () => {
      this.#shutdown(
        { reason: 'handshake-timeout', message: `no hello within ${this.#settings.handshakeTimeout} ms`, error: new HopwireError(ErrorCode.HANDSHAKE_TIMEOUT, 'handshake timed out') },
        false,
      );
    });
  }

  #detected(protocol: Protocol): void {
    if (this.#state !== 'detecting') return;
    this.#clearTimer();
    if (protocol === 'lines' && this.#settings.refuseLines === true) {
      this.#shutdown({ reason: 'protocol-error', message: 'JSON-lines peers are refused', error: new HopwireError(ErrorCode.PROTOCOL, 'not a hopwire peer') }, false);
      return;
    }
    this.#protocol = 'lines';
    this.#lines = new LinesPeer(
      {
        pending: this.#pending,
        signal: this.#abort.signal,
        isReady: () => this.#state === 'ready',
        refuseSend: () => this.#refuseSend(),
        alive: () => {
          this.#heartbeat?.alive();
        },
        deliver: (value, meta, reply) => {
          this.#deliver(value, meta, 0, reply);
        },
        handle: (value, meta) => this.#responder.serveLine(value, meta),
        protocolError: (err) => {
          this.#protocolError(err);
        },
      },
      this.#settings,
      this.#writer,
      this.counters,
    );
    this.#becomeReady();
  }

  /** Pings the peer from now on, if it can answer: hopwire frames or sockhop lines, never plain JSON lines. */
  #startHeartbeat(): void {
    if (this.#protocol === 'binary' || this.#lines?.sockhop !== undefined) this.#heartbeat?.start();
  }

  #becomeReady(): void {
    this.#clearTimer();
    this.#state = 'ready';
    if (this.#protocol === 'binary' && this.peerCan(MSGPACK_CAP)) this.#payloads.useMsgpack();
    this.#frames?.setMaxFrameBytes(this.#settings.maxFrameBytes);
    this.#startHeartbeat();
    debug('%s connection ready (%s)', this.#settings.role, this.#protocol);
    if (connectionChannel.hasSubscribers) connectionChannel.publish({ connection: this, event: 'ready' });
    try {
      this.#host.onReady(this);
    } catch (err) {
      this.#host.onListenerError(this, err);
    }
  }

  #onDead(missed: number): void {
    this.counters.pingsMissed += missed;
    debug('peer missed %d pings; dropping it', missed);
    this.destroy({ reason: 'ping-timeout', message: `the peer missed ${missed} pings`, error: new HopwireError(ErrorCode.PING_TIMEOUT, `no answer to ${missed} pings`) });
  }

  #protocolError(err: unknown): void {
    const error = err instanceof HopwireError ? err : new HopwireError(ErrorCode.PROTOCOL, String(err), { cause: err });
    if (error.code === ErrorCode.DECODE) this.counters.decodeErrors++;
    debug('protocol error: %s', error.message);
    this.#shutdown({ reason: 'protocol-error', message: error.message, error }, true, error);
  }

  /**
   * Starts closing: tells the peer why (goodbye frame or error line), ends
   * the socket, and destroys it after a grace period.
   */
  #shutdown(info: DisconnectInfo, sayGoodbye = true, error?: HopwireError, goodbyeReason = info.message): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    const wasReady = this.#state === 'ready' || this.#state === 'handshaking';
    this.#info ??= info;
    this.#state = 'closing';
    this.#heartbeat?.stop();
    this.#clearTimer();
    if (sayGoodbye && this.#protocol === 'binary' && wasReady) {
      if (!this.#handshake.magicSent) this.#writeRaw(MAGIC); // the peer's decoder expects it before any frame
      this.#writeControl(FrameKind.GOODBYE, goodbyePayload(error?.code ?? 'closed', goodbyeReason));
    } else if (sayGoodbye && this.#protocol === 'lines' && error !== undefined) {
      this.#lines?.writeError(error);
    }
    this.#pending.rejectAll(this.#goneError());
    this.#abort.abort();
    this.#writer.flush();
    this.#socket.end();
    this.#startTimer(CLOSE_GRACE_MS, () => this.#socket.destroy());
  }

  readonly #onEnd = (): void => {
    // The peer finished its side: finish ours.
    this.#shutdown({ reason: 'remote-closed', message: 'the peer closed the connection' }, false);
  };

  readonly #onSocketError = (err: Error): void => {
    debug('socket error: %s', err.message);
    this.#info ??= { reason: 'socket-error', message: err.message, error: err };
  };

  readonly #onSocketClose = (): void => {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#info ??= { reason: 'remote-closed', message: 'the connection was lost' };
    this.#heartbeat?.stop();
    this.#clearTimer();
    this.#pending.rejectAll(this.#goneError());
    this.#functions.releaseAll();
    this.#abort.abort();
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onEnd);
    // the 'error' listener stays: a late socket error must never become uncaught
    this.#resolveClosed();
    if (connectionChannel.hasSubscribers) connectionChannel.publish({ connection: this, event: 'close', info: this.#info });
    this.#host.onClose(this, this.#info);
  };

  #startTimer(ms: number, fn: () => void): void {
    this.#clearTimer();
    this.#timer = setTimeout(fn, ms);
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The hello the peer sent (binary connections). */
  get peerHello(): Hello | undefined {
    return this.#handshake.peer;
  }
}
