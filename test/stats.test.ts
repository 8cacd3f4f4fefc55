import { expect } from 'chai';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { get } from 'node:http';
import { Client, type Session } from '../src/index.js';
import { closeAll, defer, rawSocket, startServer } from './support/net.js';

function httpGet(url: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) });
      });
    }).on('error', reject);
  });
}

describe('stats and metrics', () => {
  afterEach(closeAll);

  it('counters move exactly with each event, on the server, the session and the client', async () => {
    const { server, port } = await startServer();
    server.handle((req) => {
      const r = req as { op: string };
      if (r.op === 'slow') return new Promise(() => undefined);
      if (r.op === 'fail') throw new Error('no');
      return 'ok';
    });
    const client = new Client({ port });
    defer(() => client.close());
    await client.connect();

    const got = once(server, 'message');
    await client.send({ hello: 1 });
    await got;
    expect(await client.request({ op: 'fine' })).to.equal('ok');
    await client.request({ op: 'fail' }).catch(() => undefined);
    await client.request({ op: 'slow' }, { timeout: 10 }).catch(() => undefined);

    const c = client.stats();
    expect(c).to.include({ messagesOut: 1, requestsSent: 3, requestsAnswered: 1, requestsFailed: 1, requestsTimedOut: 1, state: 'connected', reconnects: 0 });
    expect(c.bytesOut).to.be.greaterThan(0);
    expect(c.bytesIn).to.be.greaterThan(0);

    const s = server.stats();
    expect(s).to.include({ connections: 1, connectionsTotal: 1, messagesIn: 1, requestsHandled: 2 });
    expect(s.connectionsByProtocol).to.deep.equal({ binary: 1, lines: 0 });
    const [session] = s.sessions;
    expect(session?.protocol).to.equal('binary');
    expect(session?.peer).to.match(/^127\.0\.0\.1:\d+$/);
    expect(session?.clientId).to.be.a('string');
    expect(session?.ageMs).to.be.at.least(0);

    const gone = once(server, 'disconnect') as Promise<[Session, unknown]>;
    await client.close();
    await gone;
    const after = server.stats();
    expect(after.connections).to.equal(0);
    expect(after.messagesIn).to.equal(1); // kept after the session ended
    expect(after.disconnects['remote-closed']).to.equal(1);
  });

  it('counts lines sessions, decode errors and refused connections', async () => {
    const { server, port } = await startServer({ maxConnections: 1 });
    const raw = await rawSocket({ port });
    const connected = once(server, 'connect');
    raw.write('{"a":1}\nnot json\n');
    await connected;
    while (server.stats().decodeErrors < 1) await once(raw, 'data');
    const extra = await rawSocket({ port });
    await once(extra, 'close');
    const s = server.stats();
    expect(s.connectionsByProtocol.lines).to.equal(1);
    expect(s.decodeErrors).to.equal(1);
    expect(s.connectionsRefused).to.equal(1);
  });

  it('metrics() is Prometheus text with help and type lines, and is served at /metrics', async () => {
    const { server } = await startServer({ metrics: { port: 0 } });
    const text = server.metrics();
    expect(text).to.match(/^# HELP hopwire_uptime_seconds /m);
    expect(text).to.match(/^# TYPE hopwire_connections gauge$/m);
    expect(text).to.match(/^hopwire_connections\{protocol="binary"\} 0$/m);
    expect(text).to.match(/^hopwire_disconnects_total\{reason="ping-timeout"\} 0$/m);
    for (const line of text.trim().split('\n')) expect(line).to.match(/^(# (HELP|TYPE) hopwire_\w+ .+|hopwire_\w+(\{[^}]*\})? [\d.]+)$/);
    const address = server.metricsAddress;
    expect(address?.host).to.equal('127.0.0.1');
    const res = await httpGet(`http://127.0.0.1:${String(address?.port)}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.type).to.contain('text/plain');
    expect(res.body).to.contain('hopwire_messages_received_total 0');
    expect((await httpGet(`http://127.0.0.1:${String(address?.port)}/other`)).status).to.equal(404);
  });

  it('publishes frames and connection events on diagnostics_channel', async () => {
    const frames: number[] = [];
    const events: string[] = [];
    const onFrame = (m: unknown): void => {
      frames.push((m as { frame: { kind: number } }).frame.kind);
    };
    const onConnection = (m: unknown): void => {
      events.push((m as { event: string }).event);
    };
    subscribe('hopwire:frame', onFrame);
    subscribe('hopwire:connection', onConnection);
    try {
      const { server, port } = await startServer();
      const client = new Client({ port });
      defer(() => client.close());
      await client.connect();
      const got = once(server, 'message');
      await client.send('x');
      await got;
      await client.close();
    } finally {
      unsubscribe('hopwire:frame', onFrame);
      unsubscribe('hopwire:connection', onConnection);
    }
    expect(frames).to.include(2); // the MESSAGE, seen by the server
    expect(frames).to.include(1); // HELLOs
    expect(events).to.include('ready');
    expect(events).to.include('close');
  });
});
