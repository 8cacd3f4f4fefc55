/**
 * The zeromq@6 contender (prebuilt binary from the npm package), with the
 * socket type ZeroMQ's guide gives for each pattern and `JSON.stringify` /
 * `JSON.parse` for objects, as a user would:
 *
 * - push (S1, S4): `Push` → `Pull`; a Buffer is sent as is and arrives as a Buffer.
 * - rpc (S2, S3): `Dealer` → `Router`, the asynchronous request/reply
 *   pattern (a `Request` socket allows only one request in flight). A
 *   connection delivers in order, so replies are matched first in, first out.
 * - broadcast (S5): `XPublisher` → `Subscriber`; the publisher counts the
 *   subscriptions to know every subscriber is there, and `noDrop` makes
 *   `send()` fail with EAGAIN instead of dropping when a subscriber's queue
 *   is full; the sender then waits a moment and sends the message again.
 *
 * zeromq's `send()` allows one pending call at a time, so every send is awaited.
 */
import * as zmq from 'zeromq';
import type { Adapter, BroadcastServer, Closable, Endpoint, ListenRequest, Payload, PushClient, PushServer, RpcClient } from '../common.js';
import { FifoReplies } from '../raw-net.js';

function address(endpoint: Endpoint): string {
  return endpoint.kind === 'unix' ? `ipc://${endpoint.path}` : `tcp://${endpoint.host}:${endpoint.port}`;
}

/** Binds a socket on loopback (random port) or a Unix socket; returns the endpoint. */
async function bind(socket: zmq.Socket, listen: ListenRequest): Promise<Endpoint> {
  if (listen.kind === 'unix') {
    await socket.bind(`ipc://${listen.path}`);
    return { kind: 'unix', path: listen.path };
  }
  await socket.bind('tcp://127.0.0.1:*');
  const last = socket.lastEndpoint ?? '';
  const port = Number(/:(\d+)$/.exec(last)?.[1]);
  if (!Number.isInteger(port)) throw new Error(`zeromq: cannot read the bound port from ${last}`);
  return { kind: 'tcp', host: '127.0.0.1', port };
}

function closer(...sockets: zmq.Socket[]): () => Promise<void> {
  return () => {
    for (const s of sockets) {
      s.linger = 0;
      s.close();
    }
    return Promise.resolve();
  };
}

/** Runs `fn` on each message of a readable socket until it closes; a failure is thrown where it surfaces. */
function readLoop(socket: zmq.Socket & zmq.Readable, fn: (parts: Buffer[]) => void): void {
  void (async () => {
    try {
      for await (const parts of socket) fn(parts);
    } catch (err) {
      if (!socket.closed) throw err;
    }
  })();
}

async function pushServer(listen: ListenRequest, payload: Payload, sink: (item: unknown) => void): Promise<PushServer> {
  const pull = new zmq.Pull();
  const endpoint = await bind(pull, listen);
  const binary = payload === 'buffer';
  readLoop(pull, (parts) => {
    const msg = parts[0] ?? Buffer.alloc(0);
    sink(binary ? msg : JSON.parse(msg.toString('utf8')));
  });
  return { endpoint, close: closer(pull) };
}

async function pushClient(endpoint: Endpoint, payload: Payload): Promise<PushClient> {
  const push = new zmq.Push();
  push.connect(address(endpoint));
  const binary = payload === 'buffer';
  await Promise.resolve();
  return {
    async sendAll(count, make) {
      for (let i = 0; i < count; i++) {
        const item = make(i);
        await push.send(binary ? (item as Buffer) : JSON.stringify(item));
      }
    },
    close: closer(push),
  };
}

async function rpcServer(listen: ListenRequest, reply: (req: unknown) => unknown): Promise<PushServer> {
  const router = new zmq.Router();
  const endpoint = await bind(router, listen);
  void (async () => {
    try {
      for await (const [id, msg] of router) {
        if (id === undefined || msg === undefined) throw new Error('zeromq: a request without its routing id or body');
        await router.send([id, JSON.stringify(reply(JSON.parse(msg.toString('utf8'))))]);
      }
    } catch (err) {
      if (!router.closed) throw err;
    }
  })();
  return { endpoint, close: closer(router) };
}

async function rpcClient(endpoint: Endpoint): Promise<RpcClient> {
  const dealer = new zmq.Dealer();
  dealer.connect(address(endpoint));
  const replies = new FifoReplies();
  readLoop(dealer, (parts) => {
    replies.settle(JSON.parse((parts[0] ?? Buffer.alloc(0)).toString('utf8')));
  });
  await Promise.resolve();
  return {
    async request(value) {
      const reply = replies.next();
      await dealer.send(JSON.stringify(value));
      return reply;
    },
    close: closer(dealer),
  };
}

async function broadcastServer(listen: ListenRequest): Promise<BroadcastServer> {
  const pub = new zmq.XPublisher();
  pub.noDrop = true;
  pub.verbosity = 'allSubs';
  const endpoint = await bind(pub, listen);
  return {
    endpoint,
    async waitForPeers(n) {
      let subscribed = 0;
      while (subscribed < n) {
        const [sub] = await pub.receive();
        if (sub?.[0] === 1) subscribed++;
      }
    },
    async broadcast(count, make) {
      for (let i = 0; i < count; i++) {
        const msg = JSON.stringify(make(i));
        // with noDrop, a full subscriber queue is EAGAIN: wait a moment and send the same message again
        for (;;) {
          try {
            await pub.send(msg);
            break;
          } catch (err) {
            if ((err as { code?: unknown }).code !== 'EAGAIN') throw err;
            await new Promise((resolve) => setImmediate(resolve));
          }
        }
      }
    },
    close: closer(pub),
  };
}

async function broadcastClients(endpoint: Endpoint, connections: number, sink: (conn: number, item: unknown) => void): Promise<Closable> {
  const subs: zmq.Subscriber[] = [];
  for (let c = 0; c < connections; c++) {
    const sub = new zmq.Subscriber();
    sub.connect(address(endpoint));
    sub.subscribe();
    readLoop(sub, (parts) => {
      sink(c, JSON.parse((parts[0] ?? Buffer.alloc(0)).toString('utf8')));
    });
    subs.push(sub);
  }
  await Promise.resolve();
  return { close: closer(...subs) };
}

export const adapter: Adapter = {
  push: { server: pushServer, client: pushClient },
  rpc: { server: rpcServer, client: rpcClient },
  broadcast: { server: broadcastServer, clients: broadcastClients },
  pushPayloads: ['small', 'buffer'],
};
