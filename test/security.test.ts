import { expect } from 'chai';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { Client, type DisconnectInfo, FrameKind, Server, type ServerOptions, type Session } from '../src/index.js';
import { rejection as anyRejection } from './support/async.js';
import { haveOpenssl, testCerts } from './support/certs.js';
import { closeAll, defer, rawServer, rawSocket, startServer } from './support/net.js';
import { HELLO } from './support/wire.js';

/** Resolves with the rejection of `p` (fails the test if it resolves), typed to read its `code` and `message`. */
async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  return (await anyRejection(p)) as Error & { code?: string };
}

/** A server with an echo handler; returns its port. */
async function echoServer(options: ServerOptions): Promise<{ server: Server; port: number }> {
  const started = await startServer({ ...options, reconnect: undefined } as ServerOptions);
  started.server.handle((x) => x);
  return started;
}

/** A client that closeAll() closes, not yet connected, without auto-reconnect. */
function client(options: ConstructorParameters<typeof Client>[0]): Client {
  const c = new Client({ reconnect: false, ...options });
  defer(() => c.close());
  return c;
}

/** Awaits the close of a raw socket, collecting what it received. */
async function closedWith(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined);
  if (!socket.closed) await once(socket, 'close');
  return Buffer.concat(chunks);
}

describe('security', () => {
  afterEach(closeAll);

  describe('TLS', function () {
    before(function () {
      if (!haveOpenssl()) this.skip();
      this.timeout(30_000);
      testCerts(); // made once, outside the timed tests
    });

    it('carries requests over TLS, verifying the server certificate against the given CA', async () => {
      const certs = testCerts();
      const { port } = await echoServer({ tls: { key: certs.serverKey, cert: certs.serverCert } });
      const c = client({ port, tls: { ca: certs.ca } });
      await c.connect();
      expect(await c.request({ secret: 'payload' })).to.deep.equal({ secret: 'payload' });
    });

    it('refuses a server whose certificate is not signed by a trusted CA', async () => {
      const certs = testCerts();
      const { port } = await echoServer({ tls: { key: certs.serverKey, cert: certs.serverCert } });
      const err = await rejection(client({ port, tls: { ca: certs.otherCa } }).connect());
      expect(err.code).to.equal('ERR_NOT_CONNECTED');
      expect(err.message).to.match(/certificate/i);
      // and with no CA at all (system roots only), too: verification is on by default
      const err2 = await rejection(client({ port, tls: true }).connect());
      expect(err2.message).to.match(/certificate/i);
    });

    it('connects without verification only when rejectUnauthorized: false is explicit', async () => {
      const certs = testCerts();
      const { port } = await echoServer({ tls: { key: certs.serverKey, cert: certs.serverCert } });
      const c = client({ port, tls: { rejectUnauthorized: false } });
      await c.connect();
      expect(await c.request(1)).to.equal(1);
    });

    it('a plain client cannot talk to a TLS server', async () => {
      const certs = testCerts();
      const { port } = await echoServer({ tls: { key: certs.serverKey, cert: certs.serverCert }, handshakeTimeout: 200 });
      const err = await rejection(client({ port, handshakeTimeout: 200 }).connect());
      expect(err).to.be.instanceOf(Error);
    });

    it('mutual TLS: a client certificate from the trusted CA is required', async () => {
      const certs = testCerts();
      const { server, port } = await echoServer({
        tls: { key: certs.serverKey, cert: certs.serverCert, ca: certs.ca, requestCert: true, rejectUnauthorized: true },
      });
      const good = client({ port, tls: { ca: certs.ca, key: certs.clientKey, cert: certs.clientCert } });
      await good.connect();
      expect(await good.request('mtls')).to.equal('mtls');

      const refusedBefore = server.refusedConnections;
      await rejection(client({ port, tls: { ca: certs.ca } }).connect()); // no certificate
      await rejection(client({ port, tls: { ca: certs.ca, key: certs.otherClientKey, cert: certs.otherClientCert } }).connect());
      expect(server.refusedConnections).to.be.at.least(refusedBefore + 1);
      expect(await good.request('still fine')).to.equal('still fine');
    });

    it('TLS with a Unix socket path is an option error', () => {
      expect(() => new Server({ path: '/tmp/x.sock', tls: {} })).to.throw().with.property('code', 'ERR_INVALID_OPTION');
      expect(() => new Client({ path: '/tmp/x.sock', tls: true })).to.throw().with.property('code', 'ERR_INVALID_OPTION');
    });
  });

  describe('allow-list', () => {
    it('accepts listed addresses and closes others at accept, before reading, counting them', async () => {
      const { server: listed, port: listedPort } = await echoServer({ allow: ['127.0.0.1'] });
      const ok = client({ port: listedPort });
      await ok.connect();
      expect(await ok.request('in')).to.equal('in');

      const { server, port } = await echoServer({ allow: ['10.0.0.0/8', 'fd00::/8'] });
      let connects = 0;
      server.on('connect', () => connects++);
      const raw = await rawSocket({ port });
      raw.write(HELLO);
      const got = await closedWith(raw);
      expect(got.length).to.equal(0); // not even a hello back
      expect(connects).to.equal(0);
      expect(server.refusedConnections).to.equal(1);
      expect(listed.refusedConnections).to.equal(0);
      const err = await rejection(client({ port, connectTimeout: 2000 }).connect());
      expect(err.code).to.be.oneOf(['ERR_NOT_CONNECTED', 'ERR_HANDSHAKE_TIMEOUT']);
    });

    it('works for IPv6 loopback, and IPv4-mapped addresses match IPv4 entries', async function () {
      let v6: Server;
      try {
        v6 = new Server({ host: '::1', port: 0, allow: ['::1'] });
        defer(() => v6.close());
        await v6.listen();
      } catch {
        this.skip(); // no IPv6 loopback on this machine
      }
      v6.handle(() => 'v6');
      const c = client({ host: '::1', port: v6.address?.port ?? 0 });
      await c.connect();
      expect(await c.request(0)).to.equal('v6');

      const dual = new Server({ host: '::', port: 0, allow: ['127.0.0.0/8'] });
      defer(() => dual.close());
      dual.handle(() => 'mapped');
      const { port } = await dual.listen();
      const viaV4 = client({ host: '127.0.0.1', port });
      await viaV4.connect(); // arrives as ::ffff:127.0.0.1
      expect(await viaV4.request(0)).to.equal('mapped');
      const viaV6 = client({ host: '::1', port, connectTimeout: 2000 });
      await rejection(viaV6.connect());
      expect(dual.refusedConnections).to.equal(1);
    });

    it('rejects malformed entries at construction', () => {
      for (const allow of [['nope'], ['10.0.0.0/33'], ['::1/129'], ['1.2.3.4/8/9'], [42]]) {
        expect(() => new Server({ allow: allow as string[] })).to.throw().with.property('code', 'ERR_INVALID_OPTION');
      }
    });
  });

  describe('shared secret', () => {
    it('authenticates both sides when the secrets match', async () => {
      const { server, port } = await echoServer({ secret: 'correct horse' });
      const c = client({ port, secret: 'correct horse' });
      await c.connect();
      expect(await c.request('authed')).to.equal('authed');
      expect(server.sessions).to.have.length(1);
    });

    it('refuses a wrong secret with ERR_AUTH on the client, and does not retry', async () => {
      const { server, port } = await echoServer({ secret: 'correct horse' });
      let disconnects = 0;
      server.on('connect', () => disconnects++);
      const err = await rejection(client({ port, secret: 'battery staple' }).connect());
      expect(err.code).to.equal('ERR_AUTH');
      const withRetry = new Client({ port, secret: 'battery staple', reconnect: { initial: 1, retryFirstConnect: true } });
      defer(() => withRetry.close());
      expect((await rejection(withRetry.connect())).code).to.equal('ERR_AUTH');
      expect(disconnects).to.equal(0); // never became a session
    });

    it('refuses a client without the secret, and a client with a secret the server lacks', async () => {
      const { port } = await echoServer({ secret: 'correct horse' });
      expect((await rejection(client({ port }).connect())).code).to.equal('ERR_AUTH');
      const { port: open } = await echoServer({});
      expect((await rejection(client({ port: open, secret: 'x' }).connect())).code).to.equal('ERR_AUTH');
    });

    it('never sends the secret: the client’s bytes do not contain it', async () => {
      const secret = 'a-very-recognisable-secret-value';
      const seen: Buffer[] = [];
      const { port } = await rawServer((socket) => {
        socket.on('data', (c: Buffer) => seen.push(c));
      });
      const c = client({ port, secret, handshakeTimeout: 100 });
      await rejection(c.connect());
      const bytes = Buffer.concat(seen);
      expect(bytes.length).to.be.greaterThan(0);
      expect(bytes.includes(Buffer.from(secret))).to.equal(false);
      expect(bytes.includes(Buffer.from(Buffer.from(secret).toString('base64')))).to.equal(false);
    });

    it('refuses JSON-lines peers when a secret is set, unless allowLinesWithSecret', async () => {
      const { server, port } = await echoServer({ secret: 's', detectTimeout: 50 });
      let connects = 0;
      server.on('connect', () => connects++);
      const raw = await rawSocket({ port });
      raw.write('{"hello":1}\n');
      await closedWith(raw);
      expect(connects).to.equal(0);

      const { server: lenient, port: lenientPort } = await echoServer({ secret: 's', allowLinesWithSecret: true });
      const got = once(lenient, 'message');
      const raw2 = await rawSocket({ port: lenientPort });
      raw2.write('{"hello":2}\n');
      expect((await got)[0]).to.deep.equal({ hello: 2 });
    });
  });

  describe('limits', () => {
    it('maxConnections: extra connections are closed at accept; the others are unaffected', async () => {
      const { server, port } = await echoServer({ maxConnections: 2 });
      const a = client({ port });
      const b = client({ port });
      await a.connect();
      await b.connect();
      const extra = await rawSocket({ port });
      await closedWith(extra);
      expect(server.refusedConnections).to.equal(1);
      expect(await a.request('a')).to.equal('a');
      expect(await b.request('b')).to.equal('b');
    });

    it('handshakeTimeout: a peer that sends a partial hello (slowloris) is closed', async () => {
      const { server, port } = await echoServer({ handshakeTimeout: 100 });
      const raw = await rawSocket({ port });
      raw.write(HELLO.subarray(0, 10));
      await closedWith(raw);
      expect(server.sessions).to.have.length(0);
    });

    it('maxFrameBytes: a frame header claiming 1 GB closes that peer at once; memory does not follow the claim', async () => {
      const { server, port } = await echoServer({ maxFrameBytes: 1024 * 1024 });
      const good = client({ port });
      await good.connect();
      const raw = await rawSocket({ port });
      const connected = once(server, 'connect');
      raw.write(HELLO);
      await connected;
      const before = process.memoryUsage().rss;
      const disconnected = once(server, 'disconnect') as Promise<[Session, DisconnectInfo]>;
      const header = Buffer.alloc(20);
      header.writeUInt32BE(1024 * 1024 * 1024, 0);
      header[4] = FrameKind.MESSAGE;
      raw.write(header);
      raw.write(Buffer.alloc(64 * 1024)); // the start of the announced gigabyte
      const [, info] = await disconnected;
      expect(info.reason).to.equal('protocol-error');
      expect(info.error).to.have.property('code', 'ERR_FRAME_TOO_LARGE');
      expect(process.memoryUsage().rss - before).to.be.below(64 * 1024 * 1024);
      expect(await good.request('unaffected')).to.equal('unaffected');
    });

    it('maxAttachments: a frame with more attachments than allowed closes that peer', async () => {
      const { server, port } = await echoServer({ maxAttachments: 2 });
      const c = client({ port, maxAttachments: 10 });
      await c.connect();
      const disconnected = once(server, 'disconnect') as Promise<[Session, DisconnectInfo]>;
      await c.send([Buffer.alloc(1), Buffer.alloc(1), Buffer.alloc(1)]).catch(() => undefined);
      const [, info] = await disconnected;
      expect(info.error).to.have.property('code', 'ERR_PROTOCOL');
      expect(info.error?.message).to.match(/attachments/);
    });

    it('maxDepth: a payload nested deeper than allowed closes that peer with ERR_DECODE', async () => {
      const { server, port } = await echoServer({ maxDepth: 8 });
      const c = client({ port, maxDepth: 100 });
      await c.connect();
      let deep: unknown = new Date(0); // tagged, so the receiver walks it
      for (let i = 0; i < 20; i++) deep = [deep];
      const disconnected = once(server, 'disconnect') as Promise<[Session, DisconnectInfo]>;
      await c.send(deep).catch(() => undefined);
      const [, info] = await disconnected;
      expect(info.error).to.have.property('code', 'ERR_DECODE');
    });

    it('maxPendingRequests (outgoing): past the limit request() rejects with ERR_TOO_MANY_PENDING', async () => {
      const { server, port } = await startServer();
      server.handle(() => new Promise(() => undefined));
      const c = client({ port, maxPendingRequests: 3 });
      await c.connect();
      const pending = [0, 1, 2].map((i) => c.request(i, { timeout: 0 }).catch(() => undefined));
      expect((await rejection(c.request(3))).code).to.equal('ERR_TOO_MANY_PENDING');
      expect(c.pendingRequests).to.equal(3);
      await c.close();
      await Promise.all(pending);
    });
  });

  it('hostile cases leave Object.prototype, Array.prototype and Function.prototype untouched', async () => {
    const names = (o: object): string[] => Object.getOwnPropertyNames(o).sort();
    const before = [names(Object.prototype), names(Array.prototype), names(Function.prototype)];
    const { server, port } = await startServer();
    const got: unknown[] = [];
    server.on('message', (m) => got.push(m));
    const raw = await rawSocket({ port });
    raw.write('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}\n');
    raw.write('[{"__proto__":{"polluted":3}}]\n');
    while (got.length < 2) await once(server, 'message');
    const c = client({ port });
    await c.connect();
    await c.send(JSON.parse('{"__proto__":{"polluted":4},"x":{"$hw":"c","n":"Object","v":{"__proto__":{"polluted":5}}}}'));
    while (got.length < 3) await once(server, 'message');
    expect([names(Object.prototype), names(Array.prototype), names(Function.prototype)]).to.deep.equal(before);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    expect(([] as unknown as Record<string, unknown>).polluted).to.equal(undefined);
  });
});

describe('hello-phase frame limit', () => {
  afterEach(closeAll);

  it('applies only to the hello: a big message in the same read as the server’s hello is accepted', async () => {
    const { server, port } = await startServer();
    const big = Buffer.alloc(512 * 1024, 3);
    server.on('connect', (session) => void session.send({ big }));
    const c = new Client({ port, reconnect: false });
    defer(() => c.close());
    const got = once(c, 'message') as Promise<[{ big: Buffer }]>;
    await c.connect();
    const [message] = await got;
    expect(message.big.length).to.equal(big.length);
    expect(c.state).to.equal('connected');
  });
});
