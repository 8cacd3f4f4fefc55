import { expect } from 'chai';
import { once } from 'node:events';
import { connect } from 'node:net';
import { Client, Server } from '../src/index.js';
import { haveOpenssl, testCerts } from './support/certs.js';
import { closeAll, defer, startServer } from './support/net.js';

/** Resolves true when something accepts a TCP connection on the port. */
async function accepts(port: number): Promise<boolean> {
  const socket = connect({ port, host: '127.0.0.1' });
  try {
    await once(socket, 'connect');
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

describe('server lifecycle', () => {
  afterEach(closeAll);

  it('concurrent listen() calls share one listen, and close() closes it', async () => {
    const server = new Server({ port: 0 });
    const [a, b] = await Promise.all([server.listen(), server.listen()]);
    expect(a).to.equal(b);
    await server.close();
    expect(server.listening).to.equal(false);
    expect(await accepts(a.port ?? 0)).to.equal(false);
  });

  it('close() while listen() is in flight: listen gives up, nothing is left listening', async () => {
    const server = new Server({ port: 0 });
    const listening = server.listen();
    await server.close();
    const outcome = await listening.then(
      (address) => ({ address }),
      (err: unknown) => ({ err }),
    );
    expect(server.listening).to.equal(false);
    if ('err' in outcome) expect(outcome.err).to.have.property('code', 'ERR_CLOSED');
    else expect(await accepts(outcome.address.port ?? 0)).to.equal(false);
  });

  it('close() does not wait for a peer that never starts its TLS handshake', async function () {
    if (!haveOpenssl()) this.skip();
    this.timeout(30_000);
    const certs = testCerts();
    // A long handshake timeout: without the fix, close() would wait for it.
    const server = new Server({ port: 0, handshakeTimeout: 60_000, tls: { key: certs.serverKey, cert: certs.serverCert } });
    const { port = 0 } = await server.listen();
    const idle = connect({ port, host: '127.0.0.1' });
    idle.on('error', () => undefined);
    defer(() => {
      idle.destroy();
      return undefined;
    });
    await once(idle, 'connect');
    const closed = server.close();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise((resolve) => (timer = setTimeout(resolve, 5_000, 'still open')));
    const outcome = await Promise.race([closed.then(() => 'closed'), late]);
    clearTimeout(timer);
    expect(outcome).to.equal('closed');
  });
});

describe('timeouts and option bounds', () => {
  afterEach(closeAll);

  it('a queued request with timeout Infinity waits without a timer; a negative one is an option error', async () => {
    const { server, port } = await startServer();
    server.handle((x) => x);
    const client = new Client({ port, reconnect: { initial: 10, max: 20 } });
    defer(() => client.close());
    await client.connect();
    const dropped = once(client, 'disconnect');
    await server.close();
    await dropped;
    const negative = await client.request(1, { timeout: -1 }).catch((e: unknown) => e);
    expect(negative).to.have.property('code', 'ERR_INVALID_OPTION');
    const forever = client.request(2, { timeout: Infinity });
    expect(client.queued).to.equal(1);
    const again = new Server({ port });
    defer(() => again.close());
    again.handle((x) => x);
    await again.listen();
    expect(await forever).to.equal(2);
  });

  it('millisecond options past what a timer can hold fail at construction', () => {
    const tooLong = 2 ** 31;
    for (const options of [{ ping: { interval: tooLong } }, { requestTimeout: tooLong }, { handshakeTimeout: tooLong }]) {
      expect(() => new Server(options)).to.throw().with.property('code', 'ERR_INVALID_OPTION');
    }
    expect(() => new Client({ port: 1, connectTimeout: tooLong })).to.throw().with.property('code', 'ERR_INVALID_OPTION');
    expect(() => new Client({ port: 1, maxPendingRequests: 2 ** 32 })).to.throw().with.property('code', 'ERR_INVALID_OPTION');
  });
});
