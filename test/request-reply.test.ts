import { expect } from 'chai';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import {
  Client,
  type ClientEvents,
  ErrorCode,
  FrameDecoder,
  FrameKind,
  HopwireError,
  type Server,
  type ServerEvents,
  type Session,
  encodeFrameToBuffer,
} from '../src/index.js';
import type { Frame } from '../src/index.js';
import { nextEvent, rejection, within } from './support/async.js';
import { closeAll, defer, rawServer, rawSocket, startClient, startServer } from './support/net.js';
import { HELLO } from './support/wire.js';

// ---------------------------------------------------------------- helpers

/** The HopwireError `promise` rejects with, checked to have `code`. */
async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<HopwireError> {
  const err = await rejection(promise);
  expect(err).to.be.instanceOf(HopwireError);
  expect(err).to.have.property('code', code);
  return err as HopwireError;
}

/** A server plus a connected client (no reconnect, so a drop stays a drop). */
async function pair(serverOptions: Parameters<typeof startServer>[0] = {}): Promise<{ server: Server; client: Client; session: Session }> {
  const { server, port } = await startServer(serverOptions);
  const client = await startClient({ port, reconnect: false });
  const [session] = server.sessions;
  if (session === undefined) throw new Error('the server has no session after the client connected');
  return { server, client, session };
}

/** A handler that never settles; `called` resolves once it was invoked. */
function hangingHandler(): { handler: (req: unknown) => Promise<never>; called: Promise<unknown> } {
  let markCalled!: (req: unknown) => void;
  const called = new Promise<unknown>((resolve) => (markCalled = resolve));
  return {
    handler: (req) => {
      markCalled(req);
      return new Promise<never>(() => undefined);
    },
    called,
  };
}

/** Reads frames off a raw socket. */
class FrameReader {
  readonly #decoder = new FrameDecoder({ expectMagic: true });
  readonly #frames: Frame[] = [];
  readonly #waiters: ((frame: Frame) => void)[] = [];

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.#decoder.push(chunk)) {
        const waiter = this.#waiters.shift();
        if (waiter) waiter(frame);
        else this.#frames.push(frame);
      }
    });
  }

  next(): Promise<Frame> {
    const frame = this.#frames.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/** A raw TCP server (closeAll() closes it); `accepted` resolves with the first socket it accepts. */
async function rawServerAccepting(): Promise<{ port: number; accepted: Promise<Socket> }> {
  let onAccept!: (socket: Socket) => void;
  const accepted = new Promise<Socket>((resolve) => (onAccept = resolve));
  const { port } = await rawServer((socket) => {
    onAccept(socket);
  });
  return { port, accepted };
}

// ---------------------------------------------------------------- tests

describe('request / reply', () => {
  afterEach(closeAll);

  describe('success', () => {
    it('client → server: the handler’s return value is the reply', async () => {
      const { server, client } = await pair();
      const seen: unknown[] = [];
      server.handle((req, ctx) => {
        seen.push(req);
        expect(ctx.protocol).to.equal('binary');
        expect(ctx.session).to.equal(server.sessions[0]);
        return { echo: req, sum: 1 + 2 };
      });
      expect(await client.request({ op: 'sum' })).to.deep.equal({ echo: { op: 'sum' }, sum: 3 });
      expect(seen).to.deep.equal([{ op: 'sum' }]);
      expect(client.pendingRequests).to.equal(0);
    });

    it('client → server: an async handler’s resolved value is the reply, non-JSON values included', async () => {
      const { server, client } = await pair();
      server.handle(async (req) => {
        await Promise.resolve();
        return new Map([['req', req], ['when', new Date(5)]]);
      });
      const reply = await client.request(10n);
      expect(reply).to.be.instanceOf(Map);
      expect(reply).to.deep.equal(new Map<string, unknown>([['req', 10n], ['when', new Date(5)]]));
    });

    it('server → client: session.request is answered by client.handle', async () => {
      const { client, session } = await pair();
      client.handle((req, ctx) => {
        expect(ctx.client).to.equal(client);
        return { got: req, from: 'client' };
      });
      expect(await session.request({ q: 'whoami' }, { timeout: 2000 })).to.deep.equal({ got: { q: 'whoami' }, from: 'client' });
      expect(session.pendingRequests).to.equal(0);
    });

    it('both directions at once on one connection', async () => {
      const { server, client, session } = await pair();
      server.handle((n) => (n as number) + 1);
      client.handle((n) => (n as number) * 10);
      const [up, down] = await Promise.all([client.request(1), session.request(2)]);
      expect(up).to.equal(2);
      expect(down).to.equal(20);
    });
  });

  describe('timeout', () => {
    it('rejects with ERR_REQUEST_TIMEOUT after its timeout and leaves nothing pending', async () => {
      const { server, client } = await pair();
      const { handler, called } = hangingHandler();
      server.handle(handler);
      const started = Date.now();
      const failed = rejectsWith(client.request({ slow: true }, { timeout: 30 }), ErrorCode.REQUEST_TIMEOUT);
      expect(client.pendingRequests).to.equal(1);
      await called;
      await failed;
      expect(Date.now() - started).to.be.at.least(25);
      expect(client.pendingRequests).to.equal(0);
    });

    it('uses the requestTimeout option when no timeout is given', async () => {
      const { server, port } = await startServer();
      const { handler } = hangingHandler();
      server.handle(handler);
      const client = await startClient({ port, reconnect: false, requestTimeout: 30 });
      await rejectsWith(client.request('x'), ErrorCode.REQUEST_TIMEOUT);
      expect(client.pendingRequests).to.equal(0);
    });

    it('a server → client request times out too', async () => {
      const { client, session } = await pair();
      client.handle(hangingHandler().handler);
      await rejectsWith(session.request('x', { timeout: 30 }), ErrorCode.REQUEST_TIMEOUT);
      expect(session.pendingRequests).to.equal(0);
    });

    it('a late reply after the timeout is dropped and the connection keeps working', async () => {
      const { server, client } = await pair();
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let lateReplied!: () => void;
      const late = new Promise<void>((resolve) => (lateReplied = resolve));
      server.handle(async (req) => {
        if (req === 'slow') {
          await released;
          lateReplied();
          return 'too late';
        }
        return 'fast';
      });
      await rejectsWith(client.request('slow', { timeout: 30 }), ErrorCode.REQUEST_TIMEOUT);
      release();
      await late;
      // The late reply travels before this request's reply on the same connection.
      expect(await client.request('quick')).to.equal('fast');
      expect(client.connected).to.equal(true);
      expect(client.pendingRequests).to.equal(0);
    });
  });

  describe('abort', () => {
    it('an already aborted signal rejects with an AbortError and sends nothing', async () => {
      const { server, client } = await pair();
      let calls = 0;
      server.handle(() => ++calls);
      const reason = new Error('changed my mind');
      const err = await rejection(client.request('x', { signal: AbortSignal.abort(reason) }));
      expect(err).to.be.instanceOf(Error);
      expect(err).to.have.property('name', 'AbortError');
      expect(err).to.have.property('cause', reason);
      expect(client.pendingRequests).to.equal(0);
      // The next request is the first the handler sees.
      expect(await client.request('y')).to.equal(1);
    });

    it('aborting while the request is in flight rejects with an AbortError and leaves nothing pending', async () => {
      const { server, client } = await pair();
      const { handler, called } = hangingHandler();
      server.handle(handler);
      const controller = new AbortController();
      const request = client.request('x', { signal: controller.signal, timeout: 0 });
      await called;
      expect(client.pendingRequests).to.equal(1);
      controller.abort();
      const err = await within(rejection(request), 2000, 'the aborted request');
      expect(err).to.have.property('name', 'AbortError');
      expect(client.pendingRequests).to.equal(0);
      expect(client.connected).to.equal(true);
    });
  });

  describe('remote errors', () => {
    it('a handler that throws: ERR_REMOTE with the remote message and code, no stack', async () => {
      const { server, client } = await pair();
      server.handle(() => {
        throw Object.assign(new Error('the widget is broken'), { code: 'E_WIDGET' });
      });
      const err = await rejectsWith(client.request('x'), ErrorCode.REMOTE);
      expect(err.message).to.contain('the widget is broken');
      expect(err.remoteCode).to.equal('E_WIDGET');
      expect(err.remoteStack).to.equal(undefined);
      expect(client.pendingRequests).to.equal(0);
      expect(client.connected).to.equal(true);
    });

    it('a thrown value that cannot become text, sync or async, is still answered with ERR_REMOTE; the connection stays', async () => {
      const { server, client } = await pair();
      const odd = [Object.create(null) as object, Object.assign(new Error('x'), { message: { not: 'text' } })];
      let n = 0;
      server.handle(async (req) => {
        const thrown = odd[n++ % odd.length];
        if (req === 'sync') throw thrown; // eslint-disable-line @typescript-eslint/only-throw-error -- what a careless handler may throw
        await Promise.resolve();
        throw thrown; // eslint-disable-line @typescript-eslint/only-throw-error -- as above
      });
      for (const mode of ['sync', 'async', 'sync', 'async']) await rejectsWith(client.request(mode), ErrorCode.REMOTE);
      expect(client.connected).to.equal(true);
    });

    it('a reply whose then getter throws is answered with ERR_REMOTE, not a closed connection', async () => {
      const { server, client } = await pair();
      server.handle(() => ({
        get then(): never {
          throw new Error('then getter exploded');
        },
      }));
      const err = await rejectsWith(client.request('x'), ErrorCode.REMOTE);
      expect(err.message).to.contain('then getter exploded');
      expect(client.connected).to.equal(true);
      expect(await (server.handle(() => 'fine'), client.request('y'))).to.equal('fine');
    });

    it('a handler that rejects: ERR_REMOTE with the remote message and code', async () => {
      const { server, client } = await pair();
      server.handle(async () => {
        await Promise.resolve();
        throw Object.assign(new TypeError('no such op'), { code: 'E_OP' });
      });
      const err = await rejectsWith(client.request('x'), ErrorCode.REMOTE);
      expect(err.message).to.contain('no such op');
      expect(err.remoteCode).to.equal('E_OP');
      expect(err.remoteStack).to.equal(undefined);
    });

    it('a thrown non-Error reaches the requester as its text, without a code', async () => {
      const { server, client } = await pair();
      server.handle(() => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- a handler may throw anything; that is the point
        throw 'plain text';
      });
      const err = await rejectsWith(client.request('x'), ErrorCode.REMOTE);
      expect(err.message).to.contain('plain text');
      expect(err.remoteCode).to.equal(undefined);
    });

    it('with sendErrorStacks the remote stack is sent', async () => {
      const { server, client } = await pair({ sendErrorStacks: true });
      server.handle(function throwingHandlerForStack() {
        throw new Error('with a stack');
      });
      const err = await rejectsWith(client.request('x'), ErrorCode.REMOTE);
      expect(err.remoteStack).to.be.a('string');
      expect(err.remoteStack).to.contain('with a stack');
      expect(err.remoteStack).to.contain('throwingHandlerForStack');
    });

    it('a client handler’s error reaches the server as ERR_REMOTE', async () => {
      const { client, session } = await pair();
      client.handle(() => {
        throw Object.assign(new Error('client says no'), { code: 'E_NO' });
      });
      const err = await rejectsWith(session.request('x'), ErrorCode.REMOTE);
      expect(err.message).to.contain('client says no');
      expect(err.remoteCode).to.equal('E_NO');
    });
  });

  describe('no handler', () => {
    it('a request to a server without a handler fails with ERR_NO_HANDLER at once', async () => {
      const { client } = await pair();
      // With timeout 0 it would wait forever if nobody answered.
      await within(rejectsWith(client.request('x', { timeout: 0 }), ErrorCode.NO_HANDLER), 2000, 'the request');
      expect(client.pendingRequests).to.equal(0);
    });

    it('a request to a client without a handler fails with ERR_NO_HANDLER at once', async () => {
      const { session } = await pair();
      await within(rejectsWith(session.request('x', { timeout: 0 }), ErrorCode.NO_HANDLER), 2000, 'the request');
      expect(session.pendingRequests).to.equal(0);
    });

    it('handle(undefined) removes the handler', async () => {
      const { server, client } = await pair();
      server.handle(() => 'ok');
      expect(await client.request('x')).to.equal('ok');
      server.handle(undefined);
      await rejectsWith(client.request('x'), ErrorCode.NO_HANDLER);
    });
  });

  describe('the connection goes while a request waits', () => {
    it('a socket ended under the connection (not through it) refuses requests and sends at once, not at their timeout', async () => {
      const { server, port } = await startServer();
      server.handle(() => new Promise(() => undefined)); // never answers
      // The client's socket, as net.connect made it: ended here, outside hopwire, so the connection is
      // still 'ready' while nothing can be written any more.
      const sockets: Socket[] = [];
      const grab = (message: unknown): void => {
        sockets.push((message as { socket: Socket }).socket);
      };
      subscribe('net.client.socket', grab);
      let client: Client;
      try {
        client = await startClient({ port, reconnect: false });
      } finally {
        unsubscribe('net.client.socket', grab);
      }
      expect(sockets).to.have.length(1);
      sockets[0]?.end();
      const err = await within(rejection(client.request('x', { timeout: 30_000 })), 2000, 'the refusal');
      expect((err as HopwireError).code).to.equal(ErrorCode.NOT_CONNECTED);
      expect((err as Error).message).to.equal('the connection can no longer be written to');
      expect(((await rejection(client.send('y'))) as HopwireError).code).to.equal(ErrorCode.NOT_CONNECTED);
      expect(client.pendingRequests).to.equal(0);
    });

    it('the server closes the session while its handler runs: ERR_NOT_CONNECTED or ERR_CLOSED, never a hang', async () => {
      const { server, client, session } = await pair();
      const { handler, called } = hangingHandler();
      server.handle(handler);
      const failed = rejection(client.request('x', { timeout: 0 }));
      await called;
      await session.close();
      const err = await within(failed, 2000, 'the request');
      expect(err).to.be.instanceOf(HopwireError);
      expect([ErrorCode.NOT_CONNECTED, ErrorCode.CLOSED]).to.include((err as HopwireError).code);
      expect(client.pendingRequests).to.equal(0);
    });

    it('the whole server closes while its handler runs: ERR_NOT_CONNECTED or ERR_CLOSED, never a hang', async () => {
      const { server, client } = await pair();
      const { handler, called } = hangingHandler();
      let handlerSignal: AbortSignal | undefined;
      server.handle((req, ctx) => {
        handlerSignal = ctx.signal;
        return handler(req);
      });
      const failures = [rejection(client.request('a', { timeout: 0 })), rejection(client.request('b', { timeout: 0 }))];
      await called;
      await server.close();
      for (const failed of failures) {
        const err = await within(failed, 2000, 'the request');
        expect(err).to.be.instanceOf(HopwireError);
        expect([ErrorCode.NOT_CONNECTED, ErrorCode.CLOSED]).to.include((err as HopwireError).code);
      }
      expect(client.pendingRequests).to.equal(0);
      expect(handlerSignal?.aborted).to.equal(true);
    });

    it('the peer socket is destroyed under a waiting request: ERR_NOT_CONNECTED, never a hang', async () => {
      const { port, accepted } = await rawServerAccepting();
      const client = new Client({ port, reconnect: false });
      defer(() => client.close());
      const connecting = client.connect();
      const socket = await accepted;
      const frames = new FrameReader(socket);
      expect((await frames.next()).kind).to.equal(FrameKind.HELLO);
      socket.write(HELLO);
      await connecting;
      const request = client.request('x', { timeout: 0 });
      expect((await frames.next()).kind).to.equal(FrameKind.REQUEST);
      socket.destroy();
      await within(rejectsWith(request, ErrorCode.NOT_CONNECTED), 2000, 'the request');
      expect(client.pendingRequests).to.equal(0);
    });

    it('the client closes while a server → client request waits: the server side rejects', async () => {
      const { client, session } = await pair();
      const { handler, called } = hangingHandler();
      client.handle(handler);
      const failed = rejection(session.request('x', { timeout: 0 }));
      await called;
      await client.close();
      const err = await within(failed, 2000, 'the request');
      expect(err).to.be.instanceOf(HopwireError);
      expect([ErrorCode.NOT_CONNECTED, ErrorCode.CLOSED]).to.include((err as HopwireError).code);
      expect(session.pendingRequests).to.equal(0);
    });

    it('client.close() while requests wait rejects them with ERR_CLOSED', async () => {
      const { server, client } = await pair();
      const { handler, called } = hangingHandler();
      server.handle(handler);
      const failures = [rejectsWith(client.request('a', { timeout: 0 }), ErrorCode.CLOSED), rejectsWith(client.request('b', { timeout: 0 }), ErrorCode.CLOSED)];
      await called;
      await client.close();
      await within(Promise.all(failures), 2000, 'the requests');
      expect(client.pendingRequests).to.equal(0);
      await rejectsWith(client.request('after'), ErrorCode.CLOSED);
    });
  });

  it('1,000 concurrent requests answered out of order each reach their own caller', async () => {
    const { server, client } = await pair();
    const answered: number[] = [];
    server.handle(
      (req) =>
        new Promise((resolve) => {
          const { n } = req as { n: number };
          setTimeout(() => {
            answered.push(n);
            resolve({ n, square: n * n, tag: `#${n}` });
          }, Math.floor(Math.random() * 15));
        }),
    );
    const count = 1000;
    const requests = Array.from({ length: count }, (_, n) => client.request({ n }, { timeout: 8000 }));
    expect(client.pendingRequests).to.equal(count);
    const replies = await Promise.all(requests);
    replies.forEach((reply, n) => {
      expect(reply).to.deep.equal({ n, square: n * n, tag: `#${n}` });
    });
    // The replies really did come back in another order than the requests went out.
    expect(answered).to.have.length(count);
    expect(answered).to.not.deep.equal([...answered].sort((a, b) => a - b));
    expect(client.pendingRequests).to.equal(0);
  });

  it('a request that cannot be encoded (a cycle) rejects with ERR_ENCODE and leaves nothing pending', async () => {
    const { server, client } = await pair();
    const seen: unknown[] = [];
    server.handle((req) => {
      seen.push(req);
      return 'ok';
    });
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = { back: cyclic };
    await rejectsWith(client.request(cyclic), ErrorCode.ENCODE);
    expect(client.pendingRequests).to.equal(0);
    expect(await client.request('next')).to.equal('ok');
    expect(seen).to.deep.equal(['next']);
  });

  it('replies and error replies for unknown ids are dropped: no crash, later messages still arrive', async () => {
    const { port, accepted } = await rawServerAccepting();
    const client = new Client({ port, reconnect: false });
    defer(() => client.close());
    let disconnected = false;
    client.on('disconnect', () => (disconnected = true));
    const connecting = client.connect();
    const socket = await accepted;
    const frames = new FrameReader(socket);
    const hello = await frames.next();
    expect(hello.kind).to.equal(FrameKind.HELLO);
    socket.write(HELLO);
    await connecting;

    const message = nextEvent<ClientEvents, 'message'>(client, 'message');
    socket.write(
      Buffer.concat([
        encodeFrameToBuffer({ kind: FrameKind.REPLY, id: 999, payload: '{"stray":true}' }),
        encodeFrameToBuffer({ kind: FrameKind.ERROR, id: 998, payload: '{"message":"stray error"}' }),
        encodeFrameToBuffer({ kind: FrameKind.REPLY, id: 997, payload: 'not even json' }),
        encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: '{"after":"the strays"}' }),
      ]),
    );
    const [value, ctx] = await message;
    expect(value).to.deep.equal({ after: 'the strays' });
    expect(ctx.protocol).to.equal('binary');
    expect(client.state).to.equal('connected');
    expect(disconnected).to.equal(false);

    // The request table still works: a real request gets its real reply.
    const request = client.request('real');
    const sent = await frames.next();
    expect(sent.kind).to.equal(FrameKind.REQUEST);
    socket.write(encodeFrameToBuffer({ kind: FrameKind.REPLY, id: sent.id, payload: '"answer"' }));
    expect(await request).to.equal('answer');
  });

  it('request() before connect() rejects with ERR_NOT_CONNECTED', async () => {
    const { port } = await startServer();
    const client = new Client({ port, reconnect: false });
    defer(() => client.close());
    await rejectsWith(client.request('x'), ErrorCode.NOT_CONNECTED);
    expect(client.pendingRequests).to.equal(0);
  });

  it('a request to a JSON-lines peer rejects with ERR_UNSUPPORTED', async () => {
    const { server, port } = await startServer({ detectTimeout: 5000 });
    const connected = nextEvent<ServerEvents, 'connect'>(server, 'connect');
    const raw = await rawSocket({ port });
    raw.write('{"hi":1}\n');
    const [session] = await connected;
    expect(session.protocol).to.equal('lines');
    await rejectsWith(session.request('x'), ErrorCode.UNSUPPORTED);
    expect(session.pendingRequests).to.equal(0);
  });
});
