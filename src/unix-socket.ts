/**
 * Unix domain socket files: a stale file left by a dead process is removed
 * before listening; a live one is an `EADDRINUSE` error; anything that is not
 * a socket is never touched.
 *
 * @module
 */
import { lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { debug } from './debug.js';

/** How long to wait for a live server to accept a probe connection. */
const PROBE_TIMEOUT_MS = 1_000;

/**
 * Makes `path` free to listen on.
 *
 * @throws an `EADDRINUSE` error when a server answers on it, or when the path
 * exists and is not a socket.
 */
export async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!isSocket) throw addressInUse(path, 'the path exists and is not a socket');
  if (await isLive(path)) throw addressInUse(path, 'another server is listening on it');
  debug('removing stale socket file %s', path);
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** True when something accepts connections on the socket file. */
function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ path });
    const done = (live: boolean): void => {
      clearTimeout(timer);
      probe.destroy();
      resolve(live);
    };
    const timer = setTimeout(() => {
      done(true); // it exists and did not refuse: treat as live, never delete it
    }, PROBE_TIMEOUT_MS);
    timer.unref();
    probe.once('connect', () => {
      done(true);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => {
      done(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT');
    });
  });
}

function addressInUse(path: string, why: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`listen EADDRINUSE: address already in use ${path} (${why})`);
  err.code = 'EADDRINUSE';
  err.syscall = 'listen';
  err.path = path;
  return err;
}
