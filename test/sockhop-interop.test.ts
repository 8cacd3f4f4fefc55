/**
 * hopwire ⇄ sockhop 1.8.4 (the real package from npm) on the wire, in both
 * directions, with `envelope: 'sockhop'`.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Client, Server } from '../src/index.js';
import { LineReader, closeAll, defer, freePort, rawSocket } from './support/net.js';

const require = createRequire(import.meta.url);

// sockhop 1.x has no type definitions: these describe the parts the tests use.
interface SockhopMeta {
  type: string;
  callback?: (reply: unknown) => void;
}
interface SockhopResponseStream {
  all(): Promise<{ data: unknown; type: string }[]>;
  next(): Promise<{ data: unknown; type: string }>;
}
interface SockhopClient {
  connected: boolean;
  pings: { unanswered(): boolean }[];
  _auto_reconnect_timer: NodeJS.Timeout;
  connect(): Promise<unknown>;
  disconnect(): Promise<void>;
  send(o: unknown, callback?: (data: unknown, meta: SockhopMeta) => void): Promise<void>;
  request(o: unknown, options?: { timeout?: number }): Promise<SockhopResponseStream>;
  ping(delay: number): void;
  on(event: 'receive', listener: (data: unknown, meta: SockhopMeta) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
}
interface SockhopServer {
  server: { address(): { port: number } | null };
  listen(): Promise<unknown>;
  close(): Promise<void>;
  sendall(o: unknown): Promise<unknown>;
  on(event: 'receive', listener: (data: unknown, meta: SockhopMeta) => void): void;
  on(event: 'connect' | 'error', listener: (...args: unknown[]) => void): void;
}
const sockhop = require('sockhop') as {
  client: new (opts: object) => SockhopClient;
  server: new (opts: object) => SockhopServer;
};

/** A class both sides know by name. */
class Widget {
  constructor(
    public name = '',
    public price = 0,
  ) {}
  total(n: number): number {
    return n * this.price;
  }
}

/** A sockhop client that closeAll() disconnects, including the reconnect timer sockhop never clears. */
function sockhopClient(port: number): SockhopClient {
  const c = new sockhop.client({ port, address: '127.0.0.1' });
  c.on('error', () => undefined);
  defer(async () => {
    clearInterval(c._auto_reconnect_timer);
    await c.disconnect();
  });
  return c;
}

async function sockhopServer(port: number): Promise<SockhopServer> {
  const s = new sockhop.server({ port, address: '127.0.0.1' });
  s.on('error', () => undefined);
  defer(() => s.close());
  await s.listen();
  return s;
}

async function hopwireServer(): Promise<{ server: Server; port: number }> {
  const server = new Server({ port: 0, envelope: 'sockhop', types: [Widget], detectTimeout: 50 });
  defer(() => server.close());
  const { port = 0 } = await server.listen();
  return { server, port };
}

describe('sockhop 1.8.4 interop', () => {
  afterEach(closeAll);

  describe('sockhop client → hopwire server', () => {
    it('send(): a sockhop Widget arrives in hopwire as a real Widget', async () => {
      const { server, port } = await hopwireServer();
      const c = sockhopClient(port);
      await c.connect();
      const got = once(server, 'message');
      await c.send(new Widget('bolt', 2));
      const [message, ctx] = (await got) as [unknown, { type: string; protocol: string }];
      expect(message).to.be.instanceOf(Widget);
      expect((message as Widget).total(3)).to.equal(6);
      expect(ctx.type).to.equal('Widget');
      expect(ctx.protocol).to.equal('lines');
    });

    it('send() with a callback is answered by hopwire’s handle()', async () => {
      const { server, port } = await hopwireServer();
      server.handle((req) => ({ doubled: (req as { n: number }).n * 2 }));
      const c = sockhopClient(port);
      await c.connect();
      const [data, meta] = await new Promise<[unknown, SockhopMeta]>((resolve) => {
        void c.send({ n: 21 }, (d, m) => {
          resolve([d, m]);
        });
      });
      expect(data).to.deep.equal({ doubled: 42 });
      expect(meta.type).to.equal('Object');
    });

    it('send() with a callback and no handler is answered by ctx.reply() in a message listener', async () => {
      const { server, port } = await hopwireServer();
      server.on('message', (m, ctx) => void ctx.reply(new Widget(`re:${(m as { q: string }).q}`, 1)));
      const c = sockhopClient(port);
      await c.connect();
      const [data, meta] = await new Promise<[unknown, SockhopMeta]>((resolve) => {
        void c.send({ q: 'x' }, (d, m) => {
          resolve([d, m]);
        });
      });
      expect(data).to.deep.equal({ name: 're:x', price: 1 });
      expect(meta.type).to.equal('Widget');
    });

    it('a handler that throws answers the callback with a SockhopError', async () => {
      const { server, port } = await hopwireServer();
      server.handle(() => {
        throw Object.assign(new Error('nope'), { code: 'E_NOPE' });
      });
      const c = sockhopClient(port);
      await c.connect();
      const [data, meta] = await new Promise<[unknown, SockhopMeta]>((resolve) => {
        void c.send({}, (d, m) => {
          resolve([d, m]);
        });
      });
      expect(meta.type).to.equal('SockhopError');
      expect(data).to.deep.equal({ message: 'nope', code: 'E_NOPE' });
    });

    it('sockhop ping() is kept alive by hopwire’s pongs', async () => {
      const { port } = await hopwireServer();
      const c = sockhopClient(port);
      await c.connect();
      // Count the pings sockhop sends; sockhop drops a connection after 4 unanswered.
      const send = c.send.bind(c);
      let pings = 0;
      const sixPings = new Promise<void>((resolve) => {
        c.send = (o, cb) => {
          if ((o as { constructor: { name: string } }).constructor.name === 'SockhopPing' && ++pings === 6) resolve();
          return send(o, cb);
        };
      });
      c.ping(15);
      await sixPings;
      expect(c.connected).to.equal(true);
      expect(c.pings.filter((p) => !p.unanswered()).length).to.be.at.least(2);
    });

    it('hopwire sendAll() reaches sockhop clients as receive events with meta.type', async () => {
      const { server, port } = await hopwireServer();
      const a = sockhopClient(port);
      const b = sockhopClient(port);
      const connected = new Promise<void>((resolve) => {
        let n = 0;
        server.on('connect', () => {
          if (++n === 2) resolve();
        });
      });
      await a.connect();
      await b.connect();
      await connected; // both detected as lines sessions
      const got = [a, b].map(
        (c) =>
          new Promise<[unknown, SockhopMeta]>((resolve) => {
            c.on('receive', (d, m) => {
              resolve([d, m]);
            });
          }),
      );
      expect(await server.sendAll(new Widget('nut', 1))).to.equal(2);
      for (const [data, meta] of await Promise.all(got)) {
        expect(data).to.deep.equal({ name: 'nut', price: 1 });
        expect(meta.type).to.equal('Widget');
      }
    });

    it('sockhop request() streams: a value is one last packet, an async iterable is several', async () => {
      const { server, port } = await hopwireServer();
      server.handle((req) => {
        const n = (req as { n: number }).n;
        if (n === 0) return Promise.resolve({ single: true });
        return (async function* () {
          for (let i = 1; i <= n; i++) {
            await Promise.resolve();
            yield { i };
          }
        })();
      });
      const c = sockhopClient(port);
      await c.connect();
      const single = await (await c.request({ n: 0 })).all();
      expect(single.map((p) => p.data)).to.deep.equal([{ single: true }]);
      const three = await (await c.request({ n: 3 })).all();
      expect(three.map((p) => p.data)).to.deep.equal([{ i: 1 }, { i: 2 }, { i: 3 }]);
    });
  });

  describe('hopwire client → sockhop server', () => {
    async function setup(): Promise<{ s: SockhopServer; client: Client; port: number }> {
      const port = await freePort();
      const s = await sockhopServer(port);
      const client = new Client({ port, protocol: 'lines', envelope: 'sockhop', types: [Widget], reconnect: { initial: 10, max: 50 } });
      defer(() => client.close());
      const connected = new Promise<void>((resolve) => {
        s.on('connect', () => {
          resolve();
        });
      });
      await client.connect();
      await connected;
      return { s, client, port };
    }

    it('send(): sockhop receives the data and the type name', async () => {
      const { s, client } = await setup();
      const got = new Promise<[unknown, SockhopMeta]>((resolve) => {
        s.on('receive', (d, m) => {
          resolve([d, m]);
        });
      });
      await client.send(new Widget('bolt', 2));
      const [data, meta] = await got;
      expect(data).to.deep.equal({ name: 'bolt', price: 2 });
      expect(meta.type).to.equal('Widget');
    });

    it('request() is answered by sockhop’s meta.callback', async () => {
      const { s, client } = await setup();
      s.on('receive', (data, meta) => meta.callback?.(new Widget(`for ${(data as { who: string }).who}`, 5)));
      const reply = await client.request({ who: 'me' }, { timeout: 2000 });
      expect(reply).to.be.instanceOf(Widget);
      expect((reply as Widget).total(2)).to.equal(10);
    });

    it('sockhop sendall() reaches hopwire as messages, rebuilt as registered classes', async () => {
      const { s, client } = await setup();
      const got = once(client, 'message');
      await s.sendall(new Widget('gear', 3));
      const [message, ctx] = (await got) as [unknown, { type: string }];
      expect(message).to.be.instanceOf(Widget);
      expect(ctx.type).to.equal('Widget');
    });

    it('reconnects after the sockhop server restarts', async () => {
      const { s, client, port } = await setup();
      const dropped = once(client, 'disconnect');
      await s.close();
      await dropped;
      const again = await sockhopServer(port);
      again.on('receive', (_d, meta) => meta.callback?.('back'));
      if (client.state !== 'connected') await once(client, 'connect');
      expect(await client.request('hello?', { timeout: 2000 })).to.equal('back');
    });
  });
});

describe('sockhop envelope: heartbeat', () => {
  afterEach(closeAll);

  it('pings sockhop peers with SockhopPing lines, never binary frames', async () => {
    const server = new Server({ port: 0, envelope: 'sockhop', ping: { interval: 10, misses: 50 } });
    defer(() => server.close());
    const { port = 0 } = await server.listen();
    const raw = await rawSocket({ port });
    const lines = new LineReader(raw);
    raw.write('{"type":"String","data":"hi"}\n');
    for (let i = 0; i < 3; i++) {
      const line = JSON.parse(await lines.next()) as { type: string };
      expect(line.type).to.equal('SockhopPing');
    }
  });
});
