import { expect } from 'chai';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import {
  Client,
  type ClientEvents,
  ErrorCode,
  HopwireError,
  type Server,
  type ServerEvents,
  type ServerMessageContext,
} from '../src/index.js';
import { nextEvent, rejection, within } from './support/async.js';
import { LineReader, closeAll, defer, rawServer, rawSocket, startClient, startServer } from './support/net.js';

// ---------------------------------------------------------------- helpers

/** The next `n` messages the server receives. */
function messages(server: Server, n: number): Promise<[unknown, ServerMessageContext][]> {
  const got: [unknown, ServerMessageContext][] = [];
  return new Promise((resolve) => {
    const listener = (message: unknown, ctx: ServerMessageContext): void => {
      got.push([message, ctx]);
      if (got.length === n) {
        server.off('message', listener);
        resolve(got);
      }
    };
    server.on('message', listener);
  });
}

/** A raw socket acting as `nc`, with errors swallowed (the server may close on it mid-write). */
async function nc(port: number): Promise<{ socket: Socket; lines: LineReader; closed: Promise<unknown> }> {
  const socket = await rawSocket({ port });
  socket.on('error', () => undefined);
  const closed = once(socket, 'close');
  return { socket, lines: new LineReader(socket), closed };
}

// ---------------------------------------------------------------- tests

describe('JSON-lines peers', () => {
  afterEach(closeAll);

  it('every kind of JSON value on its own line becomes a message with protocol lines', async () => {
    const { server, port } = await startServer();
    const six = messages(server, 6);
    const { socket } = await nc(port);
    socket.write('{"a":1}\n[1,2]\n"str"\n42\ntrue\nnull\n');
    const got = await six;
    expect(got.map(([m]) => m)).to.deep.equal([{ a: 1 }, [1, 2], 'str', 42, true, null]);
    for (const [, ctx] of got) {
      expect(ctx.protocol).to.equal('lines');
      expect(ctx.type).to.equal('');
      expect(ctx.known).to.equal(false);
      expect(ctx.session.protocol).to.equal('lines');
    }
  });

  it('lines split across writes, and byte by byte, are reassembled', async () => {
    const { server, port } = await startServer();
    const two = messages(server, 2);
    const { socket } = await nc(port);
    const text = '{"split":"across writes","n":[1,2,3]}\n{"ü":"😀"}\n';
    for (const byte of Buffer.from(text)) socket.write(Buffer.from([byte]));
    expect((await two).map(([m]) => m)).to.deep.equal([{ split: 'across writes', n: [1, 2, 3] }, { ü: '😀' }]);
  });

  it('ctx.reply(x) writes one JSON line back', async () => {
    const { server, port } = await startServer();
    server.on('message', (message, ctx) => {
      void ctx.reply({ echo: message, ok: true });
    });
    const { socket, lines } = await nc(port);
    socket.write('{"q":"ping"}\n');
    expect(await lines.next()).to.equal('{"echo":{"q":"ping"},"ok":true}');
    socket.write('[1]\n');
    expect(await lines.json()).to.deep.equal({ echo: [1], ok: true });
  });

  it('tolerates \\r\\n line endings (the \\r does not count against maxLineBytes)', async () => {
    const { server, port } = await startServer({ maxLineBytes: 16 });
    let disconnected = false;
    server.on('disconnect', () => (disconnected = true));
    const three = messages(server, 3);
    const { socket } = await nc(port);
    socket.write('{"a":1}\r\n"crlf"\r\n"exactly 16 byt"\r\n');
    expect((await three).map(([m]) => m)).to.deep.equal([{ a: 1 }, 'crlf', 'exactly 16 byt']);
    expect(disconnected).to.equal(false);
  });

  it('an invalid JSON line gets an ERR_DECODE error line back, and the session stays open', async () => {
    const { server, port } = await startServer();
    let disconnected = false;
    server.on('disconnect', () => (disconnected = true));
    const good = messages(server, 1);
    const { socket, lines } = await nc(port);
    socket.write('{this is not json\n');
    const error = (await lines.json()) as Record<string, unknown>;
    expect(error.code).to.equal(ErrorCode.DECODE);
    expect(error.error).to.be.a('string').and.contain('this is not json');
    socket.write('{"still":"here"}\n');
    const [[message]] = (await good) as [[unknown, ServerMessageContext]];
    expect(message).to.deep.equal({ still: 'here' });
    expect(disconnected).to.equal(false);
    expect(server.sessions).to.have.length(1);
  });

  it('a line longer than maxLineBytes closes the session with reason protocol-error', async () => {
    const { server, port } = await startServer({ maxLineBytes: 1024 });
    const disconnected = nextEvent<ServerEvents, 'disconnect'>(server, 'disconnect');
    const { socket, lines, closed } = await nc(port);
    socket.write(`"${'x'.repeat(2000)}"\n`);
    const [session, info] = await disconnected;
    expect(info.reason).to.equal('protocol-error');
    expect(info.error).to.be.instanceOf(HopwireError);
    expect(info.error).to.have.property('code', ErrorCode.LINE_TOO_LARGE);
    expect(session.protocol).to.equal('lines');
    // The peer is told why, then the socket closes.
    const why = (await lines.json()) as Record<string, unknown>;
    expect(why.code).to.equal(ErrorCode.LINE_TOO_LARGE);
    await within(closed, 3000, 'the socket close');
    expect(server.sessions).to.have.length(0);
  });

  it('a line of exactly maxLineBytes is accepted', async () => {
    const { server, port } = await startServer({ maxLineBytes: 1024 });
    const one = messages(server, 1);
    const { socket } = await nc(port);
    const value = 'y'.repeat(1022); // with its quotes: 1024 bytes
    socket.write(`"${value}"\r\n`);
    const [[message]] = (await one) as [[unknown, ServerMessageContext]];
    expect(message).to.equal(value);
  });

  it('a silent peer becomes a lines session after detectTimeout and receives sendAll broadcasts', async () => {
    const { server, port } = await startServer({ detectTimeout: 30 });
    const connected = nextEvent<ServerEvents, 'connect'>(server, 'connect');
    const { lines } = await nc(port); // says nothing, like `nc host port` that only listens
    const [session] = await connected;
    expect(session.protocol).to.equal('lines');
    expect(server.sessions).to.deep.equal([session]);
    expect(await server.sendAll({ news: 1 })).to.equal(1);
    expect(await server.sendAll([2, 'two'])).to.equal(1);
    expect(await lines.json()).to.deep.equal({ news: 1 });
    expect(await lines.json()).to.deep.equal([2, 'two']);
  });

  it("protocol: 'binary' refuses a lines peer (its socket is closed) and still serves hopwire clients", async () => {
    const { server, port } = await startServer({ protocol: 'binary' });
    const events: string[] = [];
    server.on('connect', (session) => events.push(`connect ${session.protocol ?? '?'}`));
    server.on('message', () => events.push('message'));
    const { socket, closed } = await nc(port);
    socket.write('{"a":1}\n');
    await within(closed, 3000, 'the refused socket close');
    expect(events).to.deep.equal([]);

    server.handle(() => 'binary is fine');
    const client = await startClient({ port, reconnect: false });
    expect(await client.request('?')).to.equal('binary is fine');
    expect(events).to.deep.equal(['connect binary']);
  });

  it("a Client with protocol: 'lines' talks to a plain server that echoes lines", async () => {
    const received: Buffer[] = [];
    const { port } = await rawServer((socket) => {
      socket.on('data', (chunk: Buffer) => {
        received.push(chunk);
        socket.write(chunk); // echo
      });
    });
    const client = await startClient({ port, protocol: 'lines', reconnect: false });
    expect(client.state).to.equal('connected');
    const echoed = nextEvent<ClientEvents, 'message'>(client, 'message');
    await client.send({ hello: 'plain world', n: [1, 2] });
    const [message, ctx] = await echoed;
    expect(message).to.deep.equal({ hello: 'plain world', n: [1, 2] });
    expect(ctx.protocol).to.equal('lines');
    // Nothing but the JSON line went out: no magic, no hello.
    expect(Buffer.concat(received).toString()).to.equal('{"hello":"plain world","n":[1,2]}\n');

    const err = await rejection(client.request('?'));
    expect(err).to.be.instanceOf(HopwireError);
    expect(err).to.have.property('code', ErrorCode.UNSUPPORTED);
  });

  it("a lines Client's messages() iterator yields what the plain server sends", async () => {
    const { port } = await rawServer((socket) => {
      socket.write('{"from":"plain"}\n"second"\n');
    });
    const client = new Client({ port, protocol: 'lines', reconnect: false });
    defer(() => client.close());
    const it = client.messages();
    defer(async () => {
      await it.return?.();
    });
    await client.connect();
    const first = await it.next();
    const second = await it.next();
    expect((first.value as { message: unknown }).message).to.deep.equal({ from: 'plain' });
    expect((second.value as { message: unknown }).message).to.equal('second');
  });
});
