/**
 * The few `node:dgram` chores both UDP sides share: choosing the socket
 * family from a host, and sending one datagram as a promise.
 *
 * @module
 */
import { type Socket as DgramSocket, createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { toError } from './errors.js';

/** A host resolved to one address, with its family. */
export interface ResolvedHost {
  /** The IP address. */
  readonly address: string;
  /** 4 or 6. */
  readonly family: 4 | 6;
}

/** The address of `host`: itself when it is an IP address, else its first DNS answer. */
export async function resolveHost(host: string): Promise<ResolvedHost> {
  const family = isIP(host);
  if (family === 4 || family === 6) return { address: host, family };
  const found = await lookup(host);
  return { address: found.address, family: found.family === 6 ? 6 : 4 };
}

/** A UDP socket of the family of `host`. */
export function openSocket(family: 4 | 6): DgramSocket {
  return createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
}

/**
 * Sends one datagram made of `parts` (to `port`/`address`, or to the
 * socket's connected peer when they are absent); resolves when it is handed
 * to the OS.
 */
export function sendDatagram(socket: DgramSocket, parts: Buffer[], port?: number, address?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null): void => {
      if (err === null) resolve();
      else reject(err);
    };
    try {
      if (port === undefined) socket.send(parts, done);
      else socket.send(parts, port, address, done);
    } catch (err) {
      reject(toError(err)); // ERR_SOCKET_DGRAM_NOT_RUNNING after close
    }
  });
}
