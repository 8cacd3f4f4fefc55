/**
 * Small `node:net` helpers the hand-written contenders (raw-net, raw-bytes)
 * share: listen, connect, and the endpoint a server ended up on.
 */
import { once } from 'node:events';
import { type Server, type Socket, connect, createServer } from 'node:net';
import type { Endpoint, ListenRequest } from '../common.js';

/** Starts a `net` server on loopback (port 0) or a Unix socket path. */
export async function listenNet(listen: ListenRequest, onSocket: (socket: Socket) => void): Promise<{ server: Server; endpoint: Endpoint }> {
  const server = createServer({ noDelay: true }, onSocket);
  if (listen.kind === 'unix') server.listen({ path: listen.path });
  else server.listen({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  if (listen.kind === 'unix') return { server, endpoint: { kind: 'unix', path: listen.path } };
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('a TCP server without a TCP address');
  return { server, endpoint: { kind: 'tcp', host: '127.0.0.1', port: a.port } };
}

/** Connects a socket to an endpoint. */
export async function connectNet(endpoint: Endpoint): Promise<Socket> {
  const socket = endpoint.kind === 'unix' ? connect({ path: endpoint.path }) : connect({ port: endpoint.port, host: endpoint.host, noDelay: true });
  await once(socket, 'connect');
  return socket;
}

/** Closes a server and destroys its sockets. */
export function closeNet(server: Server, sockets: Iterable<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

/** A free loopback TCP port (for libraries that cannot listen on port 0). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  const a = server.address();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  if (a === null || typeof a === 'string') throw new Error('no TCP address');
  return a.port;
}
