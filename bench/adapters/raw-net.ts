/**
 * The raw-net contender: hand-written length-prefixed JSON over `node:net`
 * (see `../raw-net.ts`). Binary payloads travel as raw bytes in a
 * length-prefixed frame, as a careful user would send them.
 */
import type { Socket } from 'node:net';
import type { Adapter, BroadcastServer, Closable, Endpoint, ListenRequest, Payload, PushClient, PushServer, RpcClient } from '../common.js';
import { BatchWriter, FifoReplies, FrameReader, parseJson } from '../raw-net.js';
import { closeNet, connectNet, listenNet } from './net-util.js';

function pollUntil(test: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const tick = (): void => {
      if (test()) resolve();
      else setTimeout(tick, 5);
    };
    tick();
  });
}

async function pushServer(listen: ListenRequest, payload: Payload, sink: (item: unknown) => void): Promise<PushServer> {
  const sockets = new Set<Socket>();
  const binary = payload === 'buffer';
  const { server, endpoint } = await listenNet(listen, (socket) => {
    sockets.add(socket);
    const reader = new FrameReader(
      binary
        ? (buf, start, end) => {
            sink(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
          }
        : (buf, start, end) => {
            sink(parseJson(buf, start, end));
          },
    );
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
    });
    socket.on('error', () => undefined);
  });
  return { endpoint, close: () => closeNet(server, sockets) };
}

async function pushClient(endpoint: Endpoint, payload: Payload): Promise<PushClient> {
  const socket = await connectNet(endpoint);
  const writer = new BatchWriter([socket]);
  const binary = payload === 'buffer';
  return {
    async sendAll(count, make, window) {
      for (let i = 0; i < count; i++) {
        if (binary) writer.writeBytes(make(i) as Buffer);
        else writer.writeJson(make(i));
        if ((i + 1) % window === 0 || i === count - 1) await writer.flushed();
      }
    },
    close: () => {
      socket.destroy();
      return Promise.resolve();
    },
  };
}

async function rpcServer(listen: ListenRequest, reply: (req: unknown) => unknown): Promise<PushServer> {
  const sockets = new Set<Socket>();
  const { server, endpoint } = await listenNet(listen, (socket) => {
    sockets.add(socket);
    const writer = new BatchWriter([socket]);
    const reader = new FrameReader((buf, start, end) => {
      writer.writeJson(reply(parseJson(buf, start, end)));
    });
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
    });
    socket.on('error', () => undefined);
  });
  return { endpoint, close: () => closeNet(server, sockets) };
}

async function rpcClient(endpoint: Endpoint): Promise<RpcClient> {
  const socket = await connectNet(endpoint);
  const writer = new BatchWriter([socket]);
  const replies = new FifoReplies();
  const reader = new FrameReader((buf, start, end) => {
    replies.settle(parseJson(buf, start, end));
  });
  socket.on('data', (chunk: Buffer) => {
    reader.push(chunk);
  });
  return {
    request(value) {
      writer.writeJson(value);
      return replies.next();
    },
    close: () => {
      socket.destroy();
      return Promise.resolve();
    },
  };
}

async function broadcastServer(listen: ListenRequest): Promise<BroadcastServer> {
  const sockets: Socket[] = [];
  const { server, endpoint } = await listenNet(listen, (socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
  });
  const writer = new BatchWriter(sockets);
  return {
    endpoint,
    waitForPeers: (n) => pollUntil(() => sockets.length >= n),
    async broadcast(count, make, window) {
      for (let i = 0; i < count; i++) {
        writer.writeJson(make(i));
        if ((i + 1) % window === 0 || i === count - 1) await writer.flushed();
      }
    },
    close: () => closeNet(server, sockets),
  };
}

async function broadcastClients(endpoint: Endpoint, connections: number, sink: (conn: number, item: unknown) => void): Promise<Closable> {
  const sockets: Socket[] = [];
  for (let c = 0; c < connections; c++) {
    const socket = await connectNet(endpoint);
    const reader = new FrameReader((buf, start, end) => {
      sink(c, parseJson(buf, start, end));
    });
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
    });
    sockets.push(socket);
  }
  return {
    close: () => {
      for (const s of sockets) s.destroy();
      return Promise.resolve();
    },
  };
}

export const adapter: Adapter = {
  push: { server: pushServer, client: pushClient },
  rpc: { server: rpcServer, client: rpcClient },
  broadcast: { server: broadcastServer, clients: broadcastClients },
  pushPayloads: ['small', 'plain', 'buffer'],
};
