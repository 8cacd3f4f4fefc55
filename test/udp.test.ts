// transport: 'udp' — real datagram sockets on port 0, both families.
import { expect } from 'chai';
import { createHook } from 'node:async_hooks';
import { type Socket as DgramSocket, createSocket } from 'node:dgram';
import { once } from 'node:events';
import { setImmediate as immediate } from 'node:timers/promises';
import {
  Client,
  type ClientOptions,
  type DisconnectInfo,
  FrameFlags,
  FrameKind,
  type FrameInput,
  HopwireError,
  MAGIC,
  Server,
  type ServerEvents,
  type ServerOptions,
  type Session,
  encodeFrameToBuffer,
} from '../src/index.js';
import { fakeClockPerTest, Inbox, nextEvent, rejection, thrown } from './support/async.js';
import { closeAll, defer } from './support/net.js';

class Widget {
  constructor(
    public name = '',
    public qty = 0,
    public made = new Date(0),
  ) {}

  total(price: number): number {
    return this.qty * price;
  }
}

async function udpServer(options: ServerOptions = {}): Promise<{ server: Server; host: string; port: number }> {
  const server = new Server({ transport: 'udp', port: 0, ...options });
  defer(() => server.close());
  const address = await server.listen();
  if (address.port === undefined) throw new Error('no port');
  return { server, host: address.host, port: address.port };
}

async function udpClient(options: ClientOptions): Promise<Client> {
  const client = new Client({ transport: 'udp', ...options });
  defer(() => client.close());
  await client.connect();
  return client;
}

/** A bare `node:dgram` socket, as a peer that is not hopwire; closed by closeAll(). */
async function rawUdp(host = '127.0.0.1'): Promise<DgramSocket> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  defer(() => new Promise<void>((resolve) => socket.close(resolve)));
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  return socket;
}

function sendRaw(socket: DgramSocket, bytes: Buffer, port: number, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.send(bytes, port, host, (err) => {
      if (err) reject(err);
      else resolve();
    });
  });
}

/** A datagram built by hand: magic, version 1, one frame. */
function datagram(frame: FrameInput): Buffer {
  return Buffer.concat([MAGIC, Buffer.from([1]), encodeFrameToBuffer(frame)]);
}

/** A UDP port nothing listens on (bound, then closed again). */
async function deadUdpPort(): Promise<number> {
  const probe = createSocket('udp4');
  await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise<void>((resolve) => probe.close(resolve));
  return port;
}

function code(err: unknown): string {
  expect(err).to.be.instanceOf(HopwireError);
  return (err as HopwireError).code;
}

/** Messages a server receives, with their sessions. */
function serverInbox(server: Server): Inbox {
  const inbox = new Inbox();
  server.on('message', (message, ctx) => {
    inbox.push({ message, session: ctx.session });
  });
  return inbox;
}

/** Messages a client receives. */
function clientInbox(client: Client): Inbox {
  const inbox = new Inbox();
  client.on('message', (message) => {
    inbox.push(message);
  });
  return inbox;
}

/** Whether this machine can bind a UDP socket to ::1. */
async function haveIpv6(): Promise<boolean> {
  const probe = createSocket('udp6');
  const ok = await new Promise<boolean>((resolve) => {
    probe.once('error', () => {
      resolve(false);
    });
    probe.bind(0, '::1', () => {
      resolve(true);
    });
  });
  await new Promise<void>((resolve) => probe.close(resolve));
  return ok;
}

describe("transport: 'udp'", () => {
  afterEach(closeAll);

  describe('messages', () => {
    it('a registered class arrives as a real instance, methods and Date included, and each peer becomes a session', async () => {
      const { server, host, port } = await udpServer({ types: [Widget] });
      expect(host).to.equal('127.0.0.1');
      const connected = nextEvent<ServerEvents, 'connect'>(server, 'connect');
      const inbox = serverInbox(server);
      const client = await udpClient({ host, port, types: [Widget] });
      expect(client.state).to.equal('connected');
      await client.send(new Widget('bolt', 4, new Date(Date.UTC(2024, 4, 1))));
      const [session] = await connected;
      await inbox.until(1);
      const { message, session: from } = inbox.items[0] as { message: Widget; session: Session };
      expect(message).to.be.instanceOf(Widget);
      expect(message.total(2.5)).to.equal(10);
      expect(message.made).to.be.instanceOf(Date);
      expect(message.made.toISOString()).to.equal('2024-05-01T00:00:00.000Z');
      expect(from).to.equal(session);
      expect(session.remoteAddress).to.equal('127.0.0.1');
      expect(session.remotePort).to.be.a('number');
      expect(session.protocol).to.equal('binary');
      expect(server.sessions).to.deep.equal([session]);
    });

    it('Buffers travel as raw bytes both ways; ctx.reply and session.send answer the sender', async () => {
      const { server, port } = await udpServer();
      server.on('message', (message, ctx) => {
        const { data } = message as { data: Buffer };
        void ctx.reply({ echoed: data, length: data.length });
        void ctx.session.send({ second: true });
      });
      const client = await udpClient({ port });
      const inbox = clientInbox(client);
      const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 256));
      await client.send({ data });
      await inbox.until(2);
      const replies = inbox.items as { echoed?: Buffer; length?: number; second?: boolean }[];
      const echo = replies.find((r) => r.echoed !== undefined);
      expect(Buffer.isBuffer(echo?.echoed)).to.equal(true);
      expect(echo?.echoed?.equals(data)).to.equal(true);
      expect(replies.some((r) => r.second === true)).to.equal(true);
    });

    it('routes by type on both sides (onMessage), and client.messages() yields what arrives', async () => {
      const { server, port } = await udpServer({ types: [Widget] });
      const widgets = new Inbox();
      server.onMessage(Widget, (w, ctx) => {
        widgets.push(w.name);
        void ctx.reply(new Widget(`${w.name}-back`, w.qty + 1));
      });
      const client = await udpClient({ port, types: [Widget] });
      const typed = new Inbox();
      client.onMessage(Widget, (w) => {
        typed.push(w.total(1));
      });
      const iterator = client.messages();
      await client.send({ not: 'a widget' });
      await client.send(new Widget('gear', 6));
      await widgets.until(1);
      expect(widgets.items).to.deep.equal(['gear']);
      const first = await iterator.next();
      expect(first.done).to.equal(false);
      const received = first.value as { message: unknown; type: string };
      expect(received.type).to.equal('Widget');
      expect(received.message).to.be.instanceOf(Widget);
      await typed.until(1);
      expect(typed.items).to.deep.equal([7]);
      await client.close();
      expect((await iterator.next()).done).to.equal(true);
    });

    it('counts messages and bytes in session, server and client stats', async () => {
      const { server, port } = await udpServer();
      const inbox = serverInbox(server);
      const client = await udpClient({ port });
      const replies = clientInbox(client);
      server.on('message', (_m, ctx) => void ctx.reply('pong'));
      await client.send('ping');
      await client.send('ping');
      await inbox.until(2);
      await replies.until(2);
      const [session] = server.sessions;
      const s = session!.stats();
      expect(s.messagesIn).to.equal(2);
      expect(s.messagesOut).to.equal(2);
      expect(s.bytesIn).to.be.greaterThan(2 * 25);
      expect(s.peer).to.equal(`127.0.0.1:${session!.remotePort!}`);
      const totals = server.stats();
      expect(totals.messagesIn).to.equal(2);
      expect(totals.bytesOut).to.equal(s.bytesOut);
      expect(totals.connections).to.equal(1);
      expect(totals.connectionsTotal).to.equal(1);
      const c = client.stats();
      expect(c.messagesOut).to.equal(2);
      expect(c.messagesIn).to.equal(2);
      expect(c.bytesOut).to.equal(s.bytesIn);
      expect(c.bytesIn).to.equal(s.bytesOut);
      expect(c.state).to.equal('connected');
    });
  });

  describe('sendAll', () => {
    it('reaches every peer heard from, encoded once, and says how many', async () => {
      const { server, port } = await udpServer({ types: [Widget] });
      const inbox = serverInbox(server);
      const clients = await Promise.all([1, 2, 3].map(() => udpClient({ port, types: [Widget] })));
      const inboxes = clients.map(clientInbox);
      for (const [i, c] of clients.entries()) await c.send({ hello: i });
      await inbox.until(3);
      expect(server.sessions).to.have.length(3);
      expect(await server.sendAll(new Widget('news', 1))).to.equal(3);
      for (const box of inboxes) {
        await box.until(1);
        expect(box.items[0]).to.be.instanceOf(Widget);
      }
    });

    it('refuses a value too large for one datagram before sending to anyone', async () => {
      const { server, port } = await udpServer();
      const inbox = serverInbox(server);
      const client = await udpClient({ port });
      await client.send('hi');
      await inbox.until(1);
      expect(code(await rejection(server.sendAll('x'.repeat(70_000))))).to.equal('ERR_DATAGRAM_TOO_LARGE');
      expect(code(await rejection(server.sessions[0]!.send('x'.repeat(70_000))))).to.equal('ERR_DATAGRAM_TOO_LARGE');
      expect(server.stats().messagesOut).to.equal(0);
      expect(client.stats().bytesIn).to.equal(0);
    });
  });

  describe('peers heard from recently', () => {
    const clock = fakeClockPerTest();

    it("a peer silent for peerTimeout is dropped ('idle'), sendAll skips it, and its next datagram makes a new session", async () => {
      const { server, port } = await udpServer({ peerTimeout: 1000 });
      const inbox = serverInbox(server);
      const quiet = await udpClient({ port });
      const chatty = await udpClient({ port });
      const gone: [Session, DisconnectInfo][] = [];
      server.on('disconnect', (session, info) => gone.push([session, info]));
      await quiet.send('q1');
      await inbox.until(1);
      const quietSession = server.sessions[0]!;
      clock().tick(600);
      await chatty.send('c1');
      await inbox.until(2);
      clock().tick(399);
      expect(gone).to.have.length(0);
      clock().tick(1);
      expect(gone).to.have.length(1);
      expect(gone[0]![0]).to.equal(quietSession);
      expect(gone[0]![1].reason).to.equal('idle');
      expect(gone[0]![1].message).to.match(/peerTimeout 1000/);
      expect(server.sessions).to.have.length(1);
      expect(server.stats().disconnects.idle).to.equal(1);
      expect(code(await rejection(quietSession.send('late')))).to.equal('ERR_NOT_CONNECTED');

      const heard = clientInbox(chatty);
      expect(await server.sendAll('news')).to.equal(1);
      await heard.until(1);

      clock().tick(500);
      await chatty.send('c2'); // heard again: its session lives on
      await inbox.until(3);
      clock().tick(700);
      expect(gone).to.have.length(1);

      const reconnected = nextEvent<ServerEvents, 'connect'>(server, 'connect');
      await quiet.send('q2');
      const [fresh] = await reconnected;
      expect(fresh).to.not.equal(quietSession);
      expect(server.stats().connectionsTotal).to.equal(3);
    });

    it('sendAll drops the peers past peerTimeout even before the timer runs', async () => {
      const { server, port } = await udpServer({ peerTimeout: 1000 });
      const inbox = serverInbox(server);
      const client = await udpClient({ port });
      await client.send('hi');
      await inbox.until(1);
      clock().setSystemTime(Date.now() + 5000); // the clock jumps; no timer has fired yet
      expect(await server.sendAll('anyone?')).to.equal(0);
      expect(server.sessions).to.have.length(0);
    });

    it('over maxConnections peers, a new peer is refused and counted; known peers carry on', async () => {
      const { server, port } = await udpServer({ maxConnections: 1 });
      const inbox = serverInbox(server);
      const first = await udpClient({ port });
      const second = await udpClient({ port });
      await first.send('one');
      await inbox.until(1);
      await second.send('two'); // dropped
      await first.send('three');
      await inbox.until(2);
      expect(inbox.items.map((i) => (i as { message: string }).message)).to.deep.equal(['one', 'three']);
      expect(server.stats().connectionsRefused).to.equal(1);
      expect(server.stats().connectionsTotal).to.equal(1);
    });
  });

  describe('too large', () => {
    it('a client send over the limit rejects with ERR_DATAGRAM_TOO_LARGE and sends nothing', async () => {
      const { server, port } = await udpServer();
      const inbox = serverInbox(server);
      const client = await udpClient({ port });
      const err = await rejection(client.send({ blob: Buffer.alloc(65_500) }));
      expect(code(err)).to.equal('ERR_DATAGRAM_TOO_LARGE');
      expect((err as Error).message).to.match(/maxDatagramBytes is 65507/);
      expect(client.stats().bytesOut).to.equal(0);
      await client.send('small');
      await inbox.until(1);
      expect((inbox.items[0] as { message: unknown }).message).to.equal('small'); // the big one never left
    });

    it('a configured maxDatagramBytes bounds sends on both sides, and received datagrams past it are dropped', async () => {
      const { server, port } = await udpServer({ maxDatagramBytes: 200 });
      const inbox = serverInbox(server);
      const client = await udpClient({ port, maxDatagramBytes: 300 });
      expect(code(await rejection(client.send('x'.repeat(300))))).to.equal('ERR_DATAGRAM_TOO_LARGE');
      await client.send('y'.repeat(250)); // fits the client's 300, not the server's 200: dropped there
      await client.send('z'.repeat(100));
      await inbox.until(1);
      expect((inbox.items[0] as { message: string }).message).to.equal('z'.repeat(100));
      expect(server.stats().decodeErrors).to.equal(1);
      expect(server.stats().connectionsTotal).to.equal(1);
      expect(code(await rejection(server.sessions[0]!.send('w'.repeat(200))))).to.equal('ERR_DATAGRAM_TOO_LARGE');
    });
  });

  describe('bad input', () => {
    it('garbage datagrams are dropped and counted, make no session, and other peers are undisturbed', async () => {
      const { server, port } = await udpServer({ types: [Widget] });
      const inbox = serverInbox(server);
      const good = await udpClient({ port, types: [Widget] });
      await good.send('before');
      await inbox.until(1);

      const raw = await rawUdp();
      const message = datagram({ kind: FrameKind.MESSAGE, payload: '{"valid":true}' });
      const garbage = [
        Buffer.alloc(0),
        Buffer.from('{"json":"but not hopwire"}\n'),
        Buffer.from(MAGIC),
        Buffer.concat([MAGIC, Buffer.from([9]), message.subarray(5)]),
        message.subarray(0, message.length - 3),
        Buffer.concat([message, Buffer.from('tail')]),
        datagram({ kind: FrameKind.REQUEST, id: 1, payload: '{}' }),
        datagram({ kind: FrameKind.HELLO, payload: '{"version":1,"min":1,"caps":[]}' }),
        datagram({ kind: FrameKind.MESSAGE, id: 3, payload: '{}' }),
        (() => {
          const b = Buffer.from(message);
          b.writeUInt32BE(0x7fff_ffff, 5);
          return b;
        })(),
        datagram({ kind: FrameKind.MESSAGE, payload: '{not json' }),
        datagram({ kind: FrameKind.MESSAGE, flags: FrameFlags.TAGGED, payload: '{"$hw":"c","n":"Widget","v":1}' }),
        datagram({ kind: FrameKind.MESSAGE, flags: FrameFlags.TAGGED, payload: '{"$hw":"f","i":1}' }),
        datagram({ kind: FrameKind.MESSAGE, flags: FrameFlags.TAGGED, payload: `${'['.repeat(300)}${']'.repeat(300)}` }),
        Buffer.from(Array.from({ length: 1200 }, (_, i) => (i * 7919) % 256)),
      ];
      let bytes = 0;
      for (const g of garbage) {
        await sendRaw(raw, g, port);
        bytes += g.length;
      }
      await sendRaw(raw, message, port); // and a good one, from the same address
      await good.send('after');
      await inbox.until(3);
      const got = inbox.items.map((i) => (i as { message: unknown }).message);
      expect(got).to.deep.include({ valid: true });
      expect(got).to.include('after');
      const stats = server.stats();
      expect(stats.decodeErrors).to.equal(garbage.length);
      expect(stats.connectionsTotal).to.equal(2); // the good client, and the raw peer once it sent a valid datagram
      expect(stats.bytesIn).to.equal(bytes + message.length + stats.sessions.find((s) => s.peer !== `127.0.0.1:${raw.address().port}`)!.bytesIn);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });

    it('a client drops garbage from the server’s address and counts it; valid datagrams from a hand-written server arrive', async () => {
      const fake = await rawUdp();
      const port = fake.address().port;
      const client = await udpClient({ port, types: [Widget] });
      const inbox = clientInbox(client);
      const [, from] = await (async () => {
        const first = once(fake, 'message') as Promise<[Buffer, { port: number }]>;
        await client.send('who is there?');
        return first;
      })();
      await sendRaw(fake, Buffer.from('garbage'), from.port);
      await sendRaw(fake, datagram({ kind: FrameKind.PING }), from.port);
      await sendRaw(fake, datagram({ kind: FrameKind.MESSAGE, type: 'Widget', payload: '{"name":"hand-made","qty":2}' }), from.port);
      await inbox.until(1);
      expect(inbox.items[0]).to.be.instanceOf(Widget);
      expect((inbox.items[0] as Widget).total(3)).to.equal(6);
      expect(client.stats().decodeErrors).to.equal(2);
      expect(client.stats().messagesIn).to.equal(1);
    });

    it('the first datagram a client sends is the documented wire: magic, version, one MESSAGE frame', async () => {
      const fake = await rawUdp();
      const client = await udpClient({ port: fake.address().port });
      const arrived = once(fake, 'message') as Promise<[Buffer]>;
      await client.send({ a: 1 });
      const [bytes] = await arrived;
      expect(bytes.equals(datagram({ kind: FrameKind.MESSAGE, payload: '{"a":1}' }))).to.equal(true);
    });
  });

  describe('what UDP does not do', () => {
    it('requests, request streams, proxies and acknowledged sends reject with ERR_UNSUPPORTED on the client', async () => {
      const { port } = await udpServer();
      const client = await udpClient({ port });
      expect(code(await rejection(client.request({ op: 'sum' })))).to.equal('ERR_UNSUPPORTED');
      expect(code(await rejection(client.proxy<{ add(a: number, b: number): number }>().add(1, 2)))).to.equal('ERR_UNSUPPORTED');
      expect(code(await rejection(client.requestStream({ q: 1 }).next()))).to.equal('ERR_UNSUPPORTED');
      expect(code(await rejection(client.send('x', { ack: true })))).to.equal('ERR_UNSUPPORTED');
      expect(code(await rejection(client.send({ cb: () => 1 })))).to.equal('ERR_UNSUPPORTED');
      expect(client.release(() => 1)).to.equal(false);
      expect(client.pendingRequests).to.equal(0);
    });

    it('session requests, request streams, proxies and functions reject with ERR_UNSUPPORTED on the server', async () => {
      const { server, port } = await udpServer();
      const client = await udpClient({ port });
      const connected = nextEvent<ServerEvents, 'connect'>(server, 'connect');
      await client.send('hi');
      const [session] = await connected;
      expect(code(await rejection(session.request({ op: 'whoami' })))).to.equal('ERR_UNSUPPORTED');
      expect(code(await rejection(session.proxy<{ name(): string }>().name()))).to.equal('ERR_UNSUPPORTED');
      expect(code(await rejection(session.requestStream({}).next()))).to.equal('ERR_UNSUPPORTED');
      expect(code(await rejection(session.send({ cb: () => 1 })))).to.equal('ERR_UNSUPPORTED');
      expect(session.pendingRequests).to.equal(0);
      expect(session.clientId).to.equal(undefined);
    });

    it('sends before connect() reject with ERR_NOT_CONNECTED, after close() with ERR_CLOSED', async () => {
      const { port } = await udpServer();
      const client = new Client({ transport: 'udp', port });
      defer(() => client.close());
      expect(code(await rejection(client.send('early')))).to.equal('ERR_NOT_CONNECTED');
      await client.connect();
      await client.connect(); // again: a no-op
      await client.close();
      expect(client.state).to.equal('closed');
      expect(code(await rejection(client.send('late')))).to.equal('ERR_CLOSED');
      expect(code(await rejection(client.connect()))).to.equal('ERR_CLOSED');
    });

    it('nobody listening: the OS’s ECONNREFUSED is an error event, never a rejected send, and the client stays connected', async () => {
      const port = await deadUdpPort();
      const client = await udpClient({ port });
      const refused = once(client, 'error') as Promise<[NodeJS.ErrnoException]>;
      await client.send('anyone?');
      const [err] = await refused;
      expect(err.code).to.equal('ECONNREFUSED');
      client.removeAllListeners('error');
      for (let i = 0; i < 5; i++) {
        await client.send(`still sending ${i}`); // with no error listener: nothing thrown, nothing rejected
        await immediate();
      }
      expect(client.state).to.equal('connected');
      expect(client.stats().messagesOut).to.equal(6);
    });

    it('a host that does not resolve rejects connect() with ERR_NOT_CONNECTED, and connect() can be tried again', async () => {
      const client = new Client({ transport: 'udp', host: 'no-such-host.invalid', port: 9 });
      defer(() => client.close());
      const err = await rejection(client.connect());
      expect(code(err)).to.equal('ERR_NOT_CONNECTED');
      expect((err as Error).cause).to.be.instanceOf(Error);
      expect(client.state).to.equal('idle');
    });

    it('a port in use rejects listen() with EADDRINUSE', async () => {
      const { port } = await udpServer();
      const second = new Server({ transport: 'udp', port });
      defer(() => second.close());
      const err = (await rejection(second.listen())) as NodeJS.ErrnoException;
      expect(err.code).to.equal('EADDRINUSE');
      expect(second.listening).to.equal(false);
    });
  });

  describe('IPv6', () => {
    before(async function () {
      if (!(await haveIpv6())) {
        console.log('      (IPv6 tests skipped: this machine cannot bind a UDP socket to ::1)');
        this.skip();
      }
    });

    it("a server on '::1' and a client to it exchange a class instance and a reply", async () => {
      const { server, host, port } = await udpServer({ host: '::1', types: [Widget] });
      expect(host).to.equal('::1');
      server.onMessage(Widget, (w, ctx) => void ctx.reply(new Widget(`${w.name}!`, w.qty * 2)));
      const connected = nextEvent<ServerEvents, 'connect'>(server, 'connect');
      const client = await udpClient({ host: '::1', port, types: [Widget] });
      const inbox = clientInbox(client);
      await client.send(new Widget('six', 3));
      const [session] = await connected;
      expect(session.remoteAddress).to.equal('::1');
      expect(session.stats().peer).to.equal(`::1:${session.remotePort!}`);
      await inbox.until(1);
      expect(inbox.items[0]).to.be.instanceOf(Widget);
      expect((inbox.items[0] as Widget).total(1)).to.equal(6);
    });

    it('allows datagrams of 65,527 bytes, 20 more than IPv4', async () => {
      const { server, port } = await udpServer({ host: '::1' });
      const inbox = serverInbox(server);
      const v6 = await udpClient({ host: '::1', port });
      const v4 = await udpClient({ port: (await udpServer()).port });
      // A Buffer is an attachment: 5 (prefix) + 20 (header) + 4 (length) + payload JSON + its bytes.
      const payload = '{"$hw":"a","i":0,"t":"Buffer"}';
      const blob = Buffer.alloc(65_527 - 5 - 20 - 4 - payload.length, 7);
      await v6.send(blob);
      await inbox.until(1);
      expect(((inbox.items[0] as { message: Buffer }).message).length).to.equal(blob.length);
      expect(server.stats().bytesIn).to.equal(65_527);
      expect(code(await rejection(v4.send(blob)))).to.equal('ERR_DATAGRAM_TOO_LARGE');
    });

    it("a dual-stack server on '::' hears IPv4 peers as ::ffff:a.b.c.d and sends them at most IPv4's 65,507 bytes", async () => {
      const { server, port } = await udpServer({ host: '::' });
      const connected = nextEvent<ServerEvents, 'connect'>(server, 'connect');
      const client = await udpClient({ host: '127.0.0.1', port });
      const inbox = clientInbox(client);
      await client.send('over IPv4');
      const [session] = await connected;
      expect(session.remoteAddress).to.equal('::ffff:127.0.0.1');
      const payload = '{"$hw":"a","i":0,"t":"Buffer"}';
      const overhead = 5 + 20 + 4 + payload.length;
      expect(code(await rejection(session.send(Buffer.alloc(65_527 - overhead))))).to.equal('ERR_DATAGRAM_TOO_LARGE');
      expect(await server.sendAll(Buffer.alloc(65_527 - overhead))).to.equal(0);
      await session.send(Buffer.alloc(65_507 - overhead, 1));
      await inbox.until(1);
      expect((inbox.items[0] as Buffer).length).to.equal(65_507 - overhead);
    });

    it('garbage over IPv6 is dropped and counted too', async () => {
      const { server, port } = await udpServer({ host: '::1' });
      const inbox = serverInbox(server);
      const raw = await rawUdp('::1');
      await sendRaw(raw, Buffer.from('nonsense'), port, '::1');
      await sendRaw(raw, datagram({ kind: FrameKind.MESSAGE, payload: '"fine"' }), port, '::1');
      await inbox.until(1);
      expect(server.stats().decodeErrors).to.equal(1);
      expect(server.stats().connectionsTotal).to.equal(1);
    });
  });

  describe('close', () => {
    it('server.close() ends every session with reason closed; listen() after it rejects with ERR_CLOSED', async () => {
      const { server, port } = await udpServer();
      const inbox = serverInbox(server);
      const client = await udpClient({ port });
      await client.send('hi');
      await inbox.until(1);
      const ended = nextEvent<ServerEvents, 'disconnect'>(server, 'disconnect');
      await server.close();
      const [, info] = await ended;
      expect(info.reason).to.equal('closed');
      expect(server.sessions).to.have.length(0);
      expect(code(await rejection(server.listen()))).to.equal('ERR_CLOSED');
    });

    it('leaves no socket and no timer behind, the peer-expiry timer included', async () => {
      // Every UDP handle and timer created while enabled, ref'd or not (`unref()`ed timers are not in getActiveResourcesInfo()).
      const live = new Map<number, string>();
      const hook = createHook({
        init(id, type) {
          if (type === 'UDPWRAP' || type === 'Timeout') live.set(id, type);
        },
        destroy(id) {
          live.delete(id);
        },
      });
      await immediate(); // past mocha's own timer for this test
      hook.enable();
      try {
        const server = new Server({ transport: 'udp', port: 0 });
        const { port } = await server.listen();
        const inbox = serverInbox(server);
        const clients = [new Client({ transport: 'udp', port }), new Client({ transport: 'udp', port })];
        for (const c of clients) await c.connect();
        for (const c of clients) await c.send('hello');
        await inbox.until(2);
        await server.sendAll('bye');
        for (const c of clients) await c.close();
        await server.close();
        const deadline = performance.now() + 5000;
        while (live.size > 0 && performance.now() < deadline) await immediate();
        expect([...live.values()]).to.deep.equal([]);
        expect(process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap')).to.deep.equal([]);
      } finally {
        hook.disable();
      }
    });
  });

  describe('options', () => {
    const refused: [string, ServerOptions & ClientOptions][] = [
      ['tls', { tls: {} }],
      ['path', { path: '/tmp/x.sock' }],
      ['secret', { secret: 'shh' }],
      ['allow', { allow: ['127.0.0.1'] }],
      ['protocol', { protocol: 'lines' }],
      ['envelope', { envelope: 'sockhop' }],
      ['jsonRpc', { jsonRpc: true }],
    ];
    for (const [name, extra] of refused) {
      it(`${name} is refused with transport: 'udp' (ERR_INVALID_OPTION naming it)`, () => {
        const err = thrown(() => new Server({ transport: 'udp', ...extra }));
        expect(code(err)).to.equal('ERR_INVALID_OPTION');
        expect((err as Error).message).to.match(new RegExp(`^${name} does not work with transport: "udp"`));
        if (name !== 'allow') expect(code(thrown(() => new Client({ transport: 'udp', port: 1, ...extra })))).to.equal('ERR_INVALID_OPTION');
      });
    }

    it('servers, and a client port of 0, are refused with transport: udp', () => {
      expect((thrown(() => new Client({ transport: 'udp', servers: [{ port: 1 }] })) as Error).message).to.match(/^servers does not work/);
      expect((thrown(() => new Client({ transport: 'udp', port: 0 })) as Error).message).to.match(/needs the server's port/);
    });

    it('maxDatagramBytes is an integer from 64 to 65527, peerTimeout a positive integer', () => {
      for (const bad of [63, 65_528, 1.5, '1000', -1]) {
        expect(code(thrown(() => new Server({ transport: 'udp', maxDatagramBytes: bad as number })))).to.equal('ERR_INVALID_OPTION');
        expect(code(thrown(() => new Client({ transport: 'udp', port: 1, maxDatagramBytes: bad as number })))).to.equal('ERR_INVALID_OPTION');
      }
      for (const bad of [0, -5, 2.5, Infinity, 'soon']) {
        expect(code(thrown(() => new Server({ transport: 'udp', peerTimeout: bad as number })))).to.equal('ERR_INVALID_OPTION');
      }
      const server = new Server({ transport: 'udp', maxDatagramBytes: 1200, peerTimeout: 5000 });
      expect(server.options.maxDatagramBytes).to.equal(1200);
      expect(server.options.peerTimeout).to.equal(5000);
      expect(new Server({ transport: 'udp' }).options.maxDatagramBytes).to.equal(undefined);
      expect(new Server({ transport: 'udp' }).options.peerTimeout).to.equal(30_000);
    });

    it('maxDatagramBytes and peerTimeout need transport: udp', () => {
      expect((thrown(() => new Server({ maxDatagramBytes: 1200 })) as Error).message).to.equal('maxDatagramBytes needs transport: "udp"');
      expect((thrown(() => new Server({ peerTimeout: 1000 })) as Error).message).to.equal('peerTimeout needs transport: "udp"');
      expect((thrown(() => new Client({ port: 1, maxDatagramBytes: 1200 })) as Error).message).to.equal('maxDatagramBytes needs transport: "udp"');
    });
  });
});
