// The client's offline queue over real sockets: what send() and request() do
// while the client is (re)connecting, how the queue is bounded, and how what
// it holds ends (delivered in order, timed out, aborted, rejected).
import { expect } from 'chai';
import FakeTimers, { type Clock } from '@sinonjs/fake-timers';
import { once } from 'node:events';
import { Client, type ClientOptions, FrameKind, Server, encodeFrameToBuffer } from '../src/index.js';
import { Inbox, rejection } from './support/async.js';
import { closeAll, defer, freePort, startClient } from './support/net.js';

/** A server on `port` that records messages and requests in `inbox` and answers requests with `{ echo }`; closeAll() closes it. */
async function recordingServer(port: number, inbox: Inbox): Promise<Server> {
  const server = new Server({ port });
  defer(() => server.close());
  server.on('message', (m) => {
    inbox.push(m);
  });
  server.handle((req) => {
    inbox.push({ request: req });
    return { echo: req };
  });
  await server.listen();
  return server;
}

/**
 * A client that connected to a server which then closed: it is left
 * reconnecting to `port`. `afterConnect` runs once it is connected, before
 * the server closes.
 */
async function reconnectingClient(options: Omit<ClientOptions, 'port'> = {}, afterConnect?: () => void): Promise<{ client: Client; port: number }> {
  const first = new Server({ port: 0 });
  const port = (await first.listen()).port ?? 0;
  const client = new Client({ reconnect: { initial: 10, max: 50 }, ...options, port });
  defer(() => client.close());
  await client.connect();
  afterConnect?.();
  const dropped = once(client, 'disconnect');
  await first.close();
  await dropped;
  expect(client.state).to.equal('reconnecting');
  return { client, port };
}

describe('offline queue (client, real sockets)', () => {
  let clock: Clock | undefined;
  afterEach(async () => {
    clock?.uninstall();
    clock = undefined;
    await closeAll();
  });

  describe('while reconnecting', () => {
    it('queues send() and request(), then delivers them in order after the reconnect, before anything sent later', async () => {
      const { client, port } = await reconnectingClient();
      const sends = [client.send({ n: 1 }), client.send({ n: 2 })];
      const reply = client.request({ n: 3 });
      sends.push(client.send({ n: 4 }));
      expect(client.queued).to.equal(4);
      const later: Promise<void>[] = [];
      client.once('connect', () => {
        later.push(client.send({ n: 5, sentFrom: 'the connect listener' }));
      });
      const inbox = new Inbox();
      await recordingServer(port, inbox);
      expect(await reply).to.deep.equal({ echo: { n: 3 } });
      await Promise.all([...sends, ...later]);
      await inbox.until(5);
      expect(later).to.have.length(1);
      expect(inbox.items).to.deep.equal([{ n: 1 }, { n: 2 }, { request: { n: 3 } }, { n: 4 }, { n: 5, sentFrom: 'the connect listener' }]);
      expect(client.queued).to.equal(0);
    });

    it('stops at queue.maxMessages: the next send rejects with ERR_QUEUE_FULL, the ones held are still delivered', async () => {
      const { client, port } = await reconnectingClient({ queue: { maxMessages: 3 } });
      const held = [client.send(1), client.send(2), client.send(3)];
      expect(await rejection(client.send(4))).to.have.property('code', 'ERR_QUEUE_FULL');
      expect(await rejection(client.request(5))).to.have.property('code', 'ERR_QUEUE_FULL');
      expect(client.queued).to.equal(3);
      const inbox = new Inbox();
      await recordingServer(port, inbox);
      await Promise.all(held);
      await inbox.until(3);
      await client.send(6); // connected again: no queue in the way
      await inbox.until(4);
      expect(inbox.items).to.deep.equal([1, 2, 3, 6]);
    });

    it('stops at queue.maxBytes: a message that does not fit is refused, a smaller one that fits is held', async () => {
      const big = 'b'.repeat(100);
      const frameBytes = encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: JSON.stringify(big) }).length;
      const maxBytes = 2 * frameBytes + Math.floor(frameBytes / 2);
      const { client, port } = await reconnectingClient({ queue: { maxBytes } });
      const held = [client.send(big), client.send(big)];
      expect(await rejection(client.send(big))).to.have.property('code', 'ERR_QUEUE_FULL');
      held.push(client.send('s')); // 23 bytes: fits in the half frame left
      expect(client.queued).to.equal(3);
      const inbox = new Inbox();
      await recordingServer(port, inbox);
      await Promise.all(held);
      await inbox.until(3);
      expect(inbox.items).to.deep.equal([big, big, 's']);
    });

    it('with queue: false, send() and request() reject with ERR_NOT_CONNECTED at once', async () => {
      const { client } = await reconnectingClient({ queue: false });
      expect(await rejection(client.send(1))).to.have.property('code', 'ERR_NOT_CONNECTED');
      expect(await rejection(client.request(2))).to.have.property('code', 'ERR_NOT_CONNECTED');
      expect(await rejection(client.send(3, { ack: true }))).to.have.property('code', 'ERR_NOT_CONNECTED');
      expect(client.queued).to.equal(0);
      expect(client.unacknowledged).to.equal(0);
      expect(client.state).to.equal('reconnecting');
    });

    it('a queued request keeps its timeout: it rejects with ERR_REQUEST_TIMEOUT while still queued and leaves the queue (fake timers)', async () => {
      // Installed once connected: every reconnect attempt then waits for a tick.
      const { client } = await reconnectingClient({}, () => {
        clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
      });
      const timedOut = rejection(client.request('slow', { timeout: 1000 }));
      const kept = rejection(client.send('kept'));
      expect(client.queued).to.equal(2);
      clock!.tick(999);
      await Promise.resolve();
      expect(client.queued).to.equal(2);
      clock!.tick(1);
      const err = await timedOut;
      expect(err).to.have.property('code', 'ERR_REQUEST_TIMEOUT');
      expect(client.state).to.equal('reconnecting');
      expect(client.queued).to.equal(1);
      await client.close();
      expect(await kept).to.have.property('code', 'ERR_CLOSED');
    });

    it('a queued request that timed out is never sent after the reconnect (real timers)', async () => {
      const { client, port } = await reconnectingClient();
      const timedOut = rejection(client.request('too late', { timeout: 30 }));
      const kept = client.send('kept');
      expect(await timedOut).to.have.property('code', 'ERR_REQUEST_TIMEOUT');
      expect(client.queued).to.equal(1);
      const inbox = new Inbox();
      await recordingServer(port, inbox);
      await kept;
      await inbox.until(1);
      expect(await client.request('fresh')).to.deep.equal({ echo: 'fresh' });
      expect(inbox.items).to.deep.equal(['kept', { request: 'fresh' }]);
    });

    it('an abort signal aborts a queued request (AbortError), removes it, and it is never sent', async () => {
      const { client, port } = await reconnectingClient();
      const controller = new AbortController();
      const aborted = rejection(client.request('never', { signal: controller.signal, timeout: 0 }));
      const kept = client.send('kept');
      expect(client.queued).to.equal(2);
      controller.abort(new Error('changed my mind'));
      const err = await aborted;
      expect(err).to.have.property('name', 'AbortError');
      expect(err).to.have.nested.property('cause.message', 'changed my mind');
      expect(client.queued).to.equal(1);
      expect(await rejection(client.request('pre-aborted', { signal: AbortSignal.abort() }))).to.have.property('name', 'AbortError');
      expect(client.queued).to.equal(1);
      const inbox = new Inbox();
      await recordingServer(port, inbox);
      await kept;
      expect(await client.request('fresh')).to.deep.equal({ echo: 'fresh' });
      expect(inbox.items).to.deep.equal(['kept', { request: 'fresh' }]);
    });

    it('close() rejects everything queued with ERR_CLOSED and empties the queue', async () => {
      const { client } = await reconnectingClient();
      const results = [client.send(1), client.request(2), client.send(3, { ack: true }), client.request(4, { timeout: 0 })].map(rejection);
      expect(client.queued).to.equal(4);
      expect(client.unacknowledged).to.equal(1);
      await client.close();
      for (const err of await Promise.all(results)) expect(err).to.have.property('code', 'ERR_CLOSED');
      expect(client.queued).to.equal(0);
      expect(client.unacknowledged).to.equal(0);
      expect(await rejection(client.send(5))).to.have.property('code', 'ERR_CLOSED');
    });

    // The window between a connection starting to close (GOODBYE or FIN
    // received: its pending requests are rejected at once) and its socket's
    // 'close' event: the client still says 'connected' but has no live
    // connection. Sends made then must be queued like any made while
    // reconnecting. (They were refused with ERR_NOT_CONNECTED: the window
    // lasts a few ticks, or up to 1 s when the peer does not finish its
    // side, and retrying a failed request at once lands in it every time.)
    it('a send or request made as soon as a request failed because the server went away is queued, not refused', async () => {
      const first = new Server({ port: 0 });
      defer(() => first.close());
      const port = (await first.listen()).port ?? 0;
      first.handle(() => new Promise(() => undefined)); // never answers
      const client = await startClient({ port, reconnect: { initial: 10, max: 50 } });
      const retried = client.request('hangs').then(
        () => expect.fail('the request was answered'),
        (err: unknown) => ({
          err,
          state: client.state,
          send: client.send('retried send').then(() => 'sent', (e: unknown) => e),
          request: client.request('retried request').then((r) => r, (e: unknown) => e),
        }),
      );
      await first.close();
      const after = await retried;
      expect(after.err).to.have.property('code', 'ERR_NOT_CONNECTED');
      const inbox = new Inbox();
      await recordingServer(port, inbox);
      expect(await after.send, `client.state was '${after.state}' when the send was made`).to.equal('sent');
      expect(await after.request).to.deep.equal({ echo: 'retried request' });
      expect(inbox.items).to.deep.equal(['retried send', { request: 'retried request' }]);
    });
  });

  describe('while connecting for the first time', () => {
    it('without retryFirstConnect, a failed connect() rejects what was sent meanwhile with ERR_NOT_CONNECTED', async () => {
      const port = await freePort();
      const client = new Client({ port });
      defer(() => client.close());
      const connecting = rejection(client.connect());
      const sent = rejection(client.send('early'));
      const asked = rejection(client.request('early'));
      const acked = rejection(client.send('early', { ack: true }));
      expect(client.state).to.equal('connecting');
      expect(client.queued).to.equal(3);
      expect(await connecting).to.have.property('code', 'ERR_NOT_CONNECTED');
      for (const err of await Promise.all([sent, asked, acked])) expect(err).to.have.property('code', 'ERR_NOT_CONNECTED');
      expect(client.state).to.equal('idle');
      expect(client.queued).to.equal(0);
      expect(client.unacknowledged).to.equal(0);
    });

    it('with retryFirstConnect, what is sent before the server exists is delivered once it appears', async () => {
      const port = await freePort();
      const client = new Client({ port, reconnect: { initial: 10, max: 20, retryFirstConnect: true } });
      defer(() => client.close());
      const connecting = client.connect();
      const sent = client.send('early');
      const reply = client.request('early question');
      const acked = client.send('early, acked', { ack: true });
      await once(client, 'reconnecting'); // an attempt failed: there was no server yet
      expect(client.queued).to.equal(3);
      const inbox = new Inbox();
      await recordingServer(port, inbox);
      await connecting;
      await sent;
      expect(await reply).to.deep.equal({ echo: 'early question' });
      await acked;
      expect(inbox.items).to.deep.equal(['early', { request: 'early question' }, 'early, acked']);
      expect(client.queued).to.equal(0);
    });
  });

  describe('with reconnect: false', () => {
    it('after a drop, sends reject with ERR_NOT_CONNECTED and nothing stays queued or unacknowledged', async () => {
      const server = new Server({ port: 0 });
      defer(() => server.close());
      const port = (await server.listen()).port ?? 0;
      // The first acked message loses its ACK: the session is closed from inside the listener.
      server.on('message', (_m, ctx) => {
        void ctx.session.close();
      });
      const client = await startClient({ port, reconnect: false });
      const dropped = once(client, 'disconnect');
      const inFlight = rejection(client.send('ack lost', { ack: true }));
      expect(client.unacknowledged).to.equal(1);
      await dropped;
      expect(client.state).to.equal('disconnected');
      expect(await inFlight).to.have.property('code', 'ERR_NOT_CONNECTED');
      const later = await Promise.all([rejection(client.send(1)), rejection(client.request(2)), rejection(client.send(3, { ack: true }))]);
      for (const err of later) expect(err).to.have.property('code', 'ERR_NOT_CONNECTED');
      expect(client.queued).to.equal(0);
      expect(client.unacknowledged).to.equal(0);
    });
  });
});
