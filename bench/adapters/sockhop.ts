/**
 * The sockhop@1.8.4 contender, used as its README says: `server.on('receive')`,
 * `client.send()`, `server.sendall()`, and remote callbacks for
 * request/reply (`client.send(obj, callback)` answered by
 * `meta.callback(reply)` on the server). Send-heavy loops fire sends and
 * await every `window`-th, as for hopwire.
 *
 * sockhop cannot listen on port 0 (it treats 0 as "use 50000"), so the
 * server takes a free port found just before. A Buffer arrives as
 * `{ type: 'Buffer', data: [bytes…] }` (JSON); the server turns it back into
 * a Buffer with `Buffer.from(data)`, as a user would, so it holds each as a
 * Buffer like the others.
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { Adapter, BroadcastServer, Closable, Endpoint, ListenRequest, Payload, PushClient, PushServer, RpcClient } from '../common.js';
import { freePort } from './net-util.js';

// sockhop 1.8.4 ships no types: these describe the parts used here (see its README and API.md).
interface SockhopOptions {
  path?: string;
  address?: string;
  port?: number;
}
interface SockhopReceiveMeta {
  type: string;
  callback?: (reply: unknown) => void;
}
interface SockhopServer {
  readonly sockets: Socket[];
  listen(): Promise<unknown>;
  sendall(o: unknown): Promise<unknown>;
  close(): Promise<void>;
  on(event: 'receive', listener: (obj: unknown, meta: SockhopReceiveMeta) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}
interface SockhopClient {
  connect(): Promise<void>;
  send(o: unknown, callback?: (reply: unknown, meta: { type: string }) => void): Promise<void>;
  disconnect(): Promise<void>;
  on(event: 'receive', listener: (obj: unknown, meta: { type: string }) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}
const Sockhop = createRequire(import.meta.url)('sockhop') as {
  server: new (opts: SockhopOptions) => SockhopServer;
  client: new (opts: SockhopOptions) => SockhopClient;
};

async function startServer(listen: ListenRequest): Promise<{ server: SockhopServer; endpoint: Endpoint }> {
  if (listen.kind === 'unix') {
    const server = new Sockhop.server({ path: listen.path });
    server.on('error', (err) => {
      throw err;
    });
    await server.listen();
    return { server, endpoint: { kind: 'unix', path: listen.path } };
  }
  const port = await freePort();
  const server = new Sockhop.server({ address: '127.0.0.1', port });
  server.on('error', (err) => {
    throw err;
  });
  await server.listen();
  return { server, endpoint: { kind: 'tcp', host: '127.0.0.1', port } };
}

async function connect(endpoint: Endpoint): Promise<SockhopClient> {
  const client = endpoint.kind === 'unix' ? new Sockhop.client({ path: endpoint.path }) : new Sockhop.client({ address: endpoint.host, port: endpoint.port });
  client.on('error', (err) => {
    throw err;
  });
  await client.connect();
  return client;
}

function waitFor(test: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const tick = (): void => {
      if (test()) resolve();
      else setTimeout(tick, 5);
    };
    tick();
  });
}

/** A Buffer as sockhop delivers it: its JSON form. */
interface JsonBuffer {
  type: 'Buffer';
  data: number[];
}

async function pushServer(listen: ListenRequest, payload: Payload, sink: (item: unknown) => void): Promise<PushServer> {
  const { server, endpoint } = await startServer(listen);
  if (payload === 'buffer') {
    server.on('receive', (obj, meta) => {
      sink(meta.type === 'Buffer' ? Buffer.from((obj as JsonBuffer).data) : obj);
    });
  } else {
    server.on('receive', (obj) => {
      sink(obj);
    });
  }
  return { endpoint, close: () => server.close() };
}

async function pushClient(endpoint: Endpoint): Promise<PushClient> {
  const client = await connect(endpoint);
  return {
    async sendAll(count, make, window) {
      for (let i = 0; i < count; i++) {
        const sent = client.send(make(i));
        if ((i + 1) % window === 0 || i === count - 1) await sent;
      }
    },
    close: () => client.disconnect(),
  };
}

async function rpcServer(listen: ListenRequest, reply: (req: unknown) => unknown): Promise<PushServer> {
  const { server, endpoint } = await startServer(listen);
  server.on('receive', (obj, meta) => {
    if (meta.callback === undefined) throw new Error('sockhop: a request without a callback');
    meta.callback(reply(obj));
  });
  return { endpoint, close: () => server.close() };
}

async function rpcClient(endpoint: Endpoint): Promise<RpcClient> {
  const client = await connect(endpoint);
  return {
    request: (value) =>
      new Promise((resolve, reject) => {
        client.send(value, (reply) => {
          resolve(reply);
        }).catch(reject);
      }),
    close: () => client.disconnect(),
  };
}

async function broadcastServer(listen: ListenRequest): Promise<BroadcastServer> {
  const { server, endpoint } = await startServer(listen);
  return {
    endpoint,
    waitForPeers: (n) => waitFor(() => server.sockets.length >= n),
    async broadcast(count, make, window) {
      for (let i = 0; i < count; i++) {
        const sent = server.sendall(make(i));
        if ((i + 1) % window === 0 || i === count - 1) await sent;
      }
    },
    close: () => server.close(),
  };
}

async function broadcastClients(endpoint: Endpoint, connections: number, sink: (conn: number, item: unknown) => void): Promise<Closable> {
  const clients: SockhopClient[] = [];
  for (let c = 0; c < connections; c++) {
    const client = await connect(endpoint);
    client.on('receive', (obj) => {
      sink(c, obj);
    });
    clients.push(client);
  }
  return {
    close: async () => {
      await Promise.all(clients.map((c) => c.disconnect()));
    },
  };
}

export const adapter: Adapter = {
  push: { server: pushServer, client: pushClient },
  rpc: { server: rpcServer, client: rpcClient },
  broadcast: { server: broadcastServer, clients: broadcastClients },
  pushPayloads: ['small', 'buffer'],
};
