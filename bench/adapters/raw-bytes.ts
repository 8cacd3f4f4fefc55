/**
 * The raw-bytes contender (S4 only): 1 MiB buffers written to a plain
 * `node:net` socket with no framing at all, and a server that only counts
 * the bytes as they stream past (checking each message's id and two spot
 * bytes on the way). Nothing is copied or assembled: this is the physical
 * ceiling of the machine's loopback for this workload.
 */
import type { Socket } from 'node:net';
import { type Adapter, type Endpoint, type ListenRequest, MIB, type Payload, type PushClient, type PushServer, type RawBytesMessage, fail, patternByte } from '../common.js';
import { closeNet, connectNet, listenNet } from './net-util.js';

const MID = MIB >> 1;
const MID_BYTE = patternByte(MID);
const LAST_BYTE = patternByte(MIB - 1);

async function pushServer(listen: ListenRequest, payload: Payload, sink: (item: unknown) => void): Promise<PushServer> {
  if (payload !== 'buffer') fail('raw-bytes carries 1 MiB buffers only');
  const sockets = new Set<Socket>();
  const { server, endpoint } = await listenNet(listen, (socket) => {
    sockets.add(socket);
    let pos = 0; // position in the current message
    let id = 0;
    let ok = true;
    socket.on('data', (chunk: Buffer) => {
      const len = chunk.length;
      let i = 0;
      while (i < len) {
        if (pos < 4) {
          id = ((id << 8) | (chunk[i] ?? 0)) >>> 0;
          pos++;
          i++;
          continue;
        }
        const take = Math.min(MIB - pos, len - i);
        if (pos <= MID && MID < pos + take && chunk[i + MID - pos] !== MID_BYTE) ok = false;
        pos += take;
        i += take;
        if (pos === MIB) {
          if (chunk[i - 1] !== LAST_BYTE) ok = false;
          const message: RawBytesMessage = { rawId: id, bytesOk: ok };
          sink(message);
          pos = 0;
          id = 0;
          ok = true;
        }
      }
    });
    socket.on('error', () => undefined);
  });
  return { endpoint, close: () => closeNet(server, sockets) };
}

async function pushClient(endpoint: Endpoint, payload: Payload): Promise<PushClient> {
  if (payload !== 'buffer') fail('raw-bytes carries 1 MiB buffers only');
  const socket = await connectNet(endpoint);
  return {
    async sendAll(count, make, window) {
      for (let i = 0; i < count; i++) {
        const buf = make(i) as Buffer;
        if ((i + 1) % window === 0 || i === count - 1) {
          await new Promise<void>((resolve, reject) => {
            socket.write(buf, (err) => {
              if (err) reject(err);
              else resolve();
            });
          });
        } else {
          socket.write(buf);
        }
      }
    },
    close: () => {
      socket.destroy();
      return Promise.resolve();
    },
  };
}

export const adapter: Adapter = {
  push: { server: pushServer, client: pushClient },
  pushPayloads: ['buffer'],
};
