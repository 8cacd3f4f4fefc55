/**
 * Shared helpers for tests that use real sockets: servers on port 0, temp
 * Unix socket paths, raw servers and raw sockets acting as `nc`, and awaiting
 * events.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server as NetServer, type Socket, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type ClientOptions, Server, type ServerOptions } from '../../src/index.js';

/** Things to close after each test, newest first. */
const toClose: (() => Promise<unknown> | undefined)[] = [];

/** Registers a cleanup; `closeAll()` (run in afterEach) calls them. */
export function defer(fn: () => Promise<unknown> | undefined): void {
  toClose.push(fn);
}

/** Closes everything registered, newest first. Call from `afterEach`. */
export async function closeAll(): Promise<void> {
  while (toClose.length > 0) {
    const fn = toClose.pop();
    await fn?.();
  }
}

/** A fresh temp directory (removed by closeAll). */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hopwire-test-'));
  defer(() => {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  });
  return dir;
}

/** A Unix socket path in a fresh temp directory. */
export function tempSocketPath(): string {
  return join(tempDir(), 's.sock');
}

/** Starts a server (port 0 by default) that closeAll() closes; returns it with its port. */
export async function startServer(options: ServerOptions = {}): Promise<{ server: Server; port: number; path?: string }> {
  const server = new Server(options.path === undefined ? { port: 0, ...options } : options);
  defer(() => server.close());
  const address = await server.listen();
  return address.path === undefined ? { server, port: address.port } : { server, port: 0, path: address.path };
}

/** Connects a client that closeAll() closes. */
export async function startClient(options: ClientOptions): Promise<Client> {
  const client = new Client(options);
  defer(() => client.close());
  await client.connect();
  return client;
}

/**
 * A plain TCP server on 127.0.0.1 (not hopwire: a hand-written peer) that
 * closeAll() closes, destroying every socket in `sockets` first.
 *
 * @param onSocket - Called with each accepted socket, which is already in
 *   `sockets` and has its errors swallowed (a test may destroy it mid-write).
 *   Push any other socket to `sockets` to have closeAll() destroy it too.
 * @param port - The port to listen on; 0 (the default) for any free one.
 */
export async function rawServer(
  onSocket: (socket: Socket, sockets: Socket[]) => void = () => undefined,
  port = 0,
): Promise<{ net: NetServer; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const net = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    onSocket(socket, sockets);
  });
  defer(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        net.close(() => {
          resolve();
        });
      }),
  );
  net.listen(port, '127.0.0.1');
  await once(net, 'listening');
  const address = net.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { net, port: address.port, sockets };
}

/**
 * A TCP port on 127.0.0.1 that nothing listens on: one the system just gave
 * out, closed again before it returns. For a server that is down (connects
 * are refused), or to listen on later; unlike port 0, it is a real number
 * (sockhop, for one, reads 0 as its default port).
 */
export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  await new Promise<void>((resolve) =>
    probe.close(() => {
      resolve();
    }),
  );
  return address.port;
}

/** A raw TCP or Unix socket, as `nc` would be; destroyed by closeAll(). */
export async function rawSocket(target: { port: number } | { path: string }): Promise<Socket> {
  const socket = 'path' in target ? connect({ path: target.path }) : connect({ port: target.port, host: '127.0.0.1' });
  defer(() => {
    socket.destroy();
    return undefined;
  });
  await once(socket, 'connect');
  return socket;
}

/** A line reader on a raw socket: `await lines.next()` gives the next complete line. */
export class LineReader {
  #text = '';
  #lines: string[] = [];
  #waiters: ((line: string) => void)[] = [];

  constructor(socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#text += chunk;
      let i;
      while ((i = this.#text.indexOf('\n')) !== -1) {
        const line = this.#text.slice(0, i);
        this.#text = this.#text.slice(i + 1);
        const waiter = this.#waiters.shift();
        if (waiter) waiter(line);
        else this.#lines.push(line);
      }
    });
  }

  /** The next line (without its terminator). */
  next(): Promise<string> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The next line, parsed as JSON. */
  async json(): Promise<unknown> {
    return JSON.parse(await this.next()) as unknown;
  }
}

/** Resolves with the arguments of the next `event` on `emitter`. */
export function next<T extends unknown[] = unknown[]>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return once(emitter, event) as Promise<T>;
}
