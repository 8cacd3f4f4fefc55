/**
 * The server: listens on TCP or a Unix socket, keeps a {@link Session} per
 * peer, answers requests and broadcasts.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { chmod } from 'node:fs/promises';
import { type Server as NetServer, type Socket, createServer } from 'node:net';
import { type ConnectionSettings, NO_HANDLER, type ReceiveMeta, encodeValueFrame } from './connection.js';
import { debug } from './debug.js';
import { ErrorCode, HopwireError } from './errors.js';
import { FrameKind } from './frame.js';
import { encodeLine } from './line-decoder.js';
import { type ResolvedServerOptions, type ServerOptions, resolveServerOptions } from './options.js';
import { type ServerMessageContext, type ServerRequestContext, Session, type SessionOwner } from './session.js';
import type { DisconnectInfo, ListenAddress, RequestHandler } from './types.js';
import { clearStaleSocket } from './unix-socket.js';

/** The events of a {@link Server}, with their listener arguments. */
export interface ServerEvents {
  /** The server is listening. */
  listening: [address: ListenAddress];
  /** A peer finished its hello (or was detected as a JSON-lines peer). */
  connect: [session: Session];
  /** A peer's connection ended. */
  disconnect: [session: Session, info: DisconnectInfo];
  /** A message arrived from a peer. */
  message: [message: unknown, ctx: ServerMessageContext];
  /** Something went wrong that no promise reports. Emitted only when someone listens. */
  error: [error: Error];
  /** The server has closed and every session is gone. */
  close: [];
}

type ServerState = 'idle' | 'listening' | 'closing' | 'closed';

/**
 * A hopwire server.
 *
 * @example
 * ```ts
 * const server = new Server({ port: 0, types: [Widget] });
 * server.on('message', (msg, ctx) => console.log(ctx.type, msg));
 * server.handle(async (req) => ({ ok: true }));
 * const { port } = await server.listen();
 * await server.sendAll(new Widget('nut', 1));
 * await server.close();
 * ```
 */
export class Server extends EventEmitter<ServerEvents> {
  /** The resolved options. */
  readonly options: ResolvedServerOptions;
  readonly #settings: ConnectionSettings;
  readonly #all = new Set<Session>();
  readonly #ready = new Set<Session>();
  readonly #owner: SessionOwner;
  #net: NetServer | undefined;
  #address: ListenAddress | undefined;
  #handler: RequestHandler<ServerRequestContext> | undefined;
  #state: ServerState = 'idle';
  #closing: Promise<void> | undefined;

  /**
   * @param options - where to listen and how; see {@link ServerOptions}
   * @throws HopwireError `ERR_INVALID_OPTION` for a bad option
   */
  constructor(options: ServerOptions = {}) {
    super();
    this.options = resolveServerOptions(options);
    this.#settings = Object.freeze({
      ...this.options,
      role: 'server',
      framing: this.options.protocol === 'lines' ? 'lines' : this.options.protocol === 'binary' ? 'binary' : 'auto',
      refuseLines: this.options.protocol === 'binary',
    });
    this.#owner = {
      onReady: (session) => {
        this.#onSessionReady(session);
      },
      onMessage: (session, value, meta) => {
        this.#onSessionMessage(session, value, meta);
      },
      onRequest: (session, value, meta, signal) => this.#onSessionRequest(session, value, meta, signal),
      onClose: (session, info) => {
        this.#onSessionClose(session, info);
      },
      onListenerError: (err) => {
        rethrow(err);
      },
    };
  }

  /** The address listened on, once listening. */
  get address(): ListenAddress | undefined {
    return this.#address;
  }

  /** True while listening. */
  get listening(): boolean {
    return this.#state === 'listening';
  }

  /** The sessions that are ready (hello done). */
  get sessions(): Session[] {
    return [...this.#ready];
  }

  /**
   * Installs the request handler (replacing any earlier one). Its return
   * value is the reply; what it throws reaches the requester as `ERR_REMOTE`.
   */
  handle(handler: RequestHandler<ServerRequestContext> | undefined): this {
    if (handler !== undefined && typeof handler !== 'function') {
      throw new HopwireError(ErrorCode.INVALID_OPTION, 'handle() needs a function');
    }
    this.#handler = handler;
    return this;
  }

  /**
   * Starts listening.
   *
   * @returns the address: `{ host, port }` (the real port when 0 was asked)
   * or `{ path }`
   * @throws the listen error (`EADDRINUSE`, …), or `ERR_CLOSED` after `close()`
   */
  async listen(): Promise<ListenAddress> {
    if (this.#state === 'listening' && this.#address !== undefined) return this.#address;
    if (this.#state !== 'idle') throw new HopwireError(ErrorCode.CLOSED, 'the server was closed');
    const endpoint = this.options.endpoint;
    if ('path' in endpoint) await clearStaleSocket(endpoint.path);
    const net = createServer({ noDelay: true }, (socket) => {
      this.#accept(socket);
    });
    net.on('error', (err) => {
      this.#emitError(err);
    });
    await new Promise<void>((resolve, reject) => {
      net.once('error', reject);
      const done = (): void => {
        net.off('error', reject);
        resolve();
      };
      if ('path' in endpoint) net.listen({ path: endpoint.path }, done);
      else net.listen({ port: endpoint.port, host: endpoint.host }, done);
    });
    if ('path' in endpoint) {
      await chmod(endpoint.path, this.options.socketMode);
      this.#address = Object.freeze({ path: endpoint.path });
    } else {
      const a = net.address();
      if (a === null || typeof a === 'string') throw new Error('listening TCP server has no address');
      this.#address = Object.freeze({ host: a.address, port: a.port });
    }
    this.#net = net;
    this.#state = 'listening';
    debug('server listening on %o', this.#address);
    this.emit('listening', this.#address);
    return this.#address;
  }

  /**
   * Sends one message to every ready session, encoded once per framing.
   *
   * @returns the number of sessions it was written to
   * @throws HopwireError `ERR_ENCODE` when the value cannot be encoded (then
   * nothing is sent)
   */
  async sendAll(value: unknown): Promise<number> {
    const sessions = [...this.#ready];
    let binary: Buffer[] | undefined;
    let lines: Buffer[] | undefined;
    for (const s of sessions) {
      if (s.protocol === 'binary') binary ??= encodeValueFrame(this.options.codec, FrameKind.MESSAGE, value);
      else lines ??= [encodeLine(value, this.options.sendTerminator)];
    }
    const writes = sessions.map((s) => s.connection.sendEncoded((s.protocol === 'binary' ? binary : lines) ?? []));
    const results = await Promise.allSettled(writes);
    return results.filter((r) => r.status === 'fulfilled').length;
  }

  /**
   * Stops listening, closes every session gracefully and resolves when all
   * are gone. Nothing the server started is left running.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const net = this.#net;
    this.#state = 'closing';
    const stopped =
      net === undefined
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            net.close(() => {
              resolve();
            });
          });
    await Promise.all([...this.#all].map((s) => s.connection.close('the server is shutting down')));
    await stopped;
    this.#state = 'closed';
    this.#net = undefined;
    debug('server closed');
    this.emit('close');
  }

  #accept(socket: Socket): void {
    if (this.#state !== 'listening') {
      socket.destroy();
      return;
    }
    const session = new Session(socket, this.#settings, this.#owner);
    this.#all.add(session);
    debug('session %d accepted from %s', session.id, socket.remoteAddress ?? 'unix socket');
  }

  #onSessionReady(session: Session): void {
    this.#ready.add(session);
    this.emit('connect', session);
  }

  #onSessionMessage(session: Session, value: unknown, meta: ReceiveMeta): void {
    if (this.listenerCount('message') === 0) return;
    const ctx: ServerMessageContext = {
      ...meta,
      session,
      reply: (reply: unknown) => session.send(reply),
    };
    this.emit('message', value, ctx);
  }

  #onSessionRequest(session: Session, value: unknown, meta: ReceiveMeta, signal: AbortSignal): unknown {
    const handler = this.#handler;
    if (handler === undefined) return NO_HANDLER;
    return handler(value, { ...meta, session, signal });
  }

  #onSessionClose(session: Session, info: DisconnectInfo): void {
    this.#all.delete(session);
    const wasReady = this.#ready.delete(session);
    debug('session %d closed: %s', session.id, info.message);
    if (wasReady) this.emit('disconnect', session, info);
  }

  #emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else debug('server error (no listener): %s', err.message);
  }
}

/** A listener of ours threw: let it surface as an uncaught exception, as Node does, without disturbing the connection. */
function rethrow(err: unknown): void {
  process.nextTick(() => {
    throw err;
  });
}
