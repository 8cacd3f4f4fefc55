import { expect } from 'chai';
import { Client, Server, type TcpAddress, type UnixAddress } from '../src/index.js';
import { closeAll, defer, tempSocketPath } from './support/net.js';

// These tests are mostly checked by the compiler (`npm test` type-checks the
// test files): each assignment below fails to compile if the public types
// regress. At run time they check the values match the types.
describe('public types', () => {
  afterEach(closeAll);

  it('listen() resolves with a TcpAddress for TCP options: `const { port } = await server.listen()` compiles', async () => {
    const server = new Server({ port: 0 });
    defer(() => server.close());
    const address = await server.listen();
    const { port, host } = address;
    const tcp: TcpAddress | undefined = address.path === undefined ? address : undefined;
    expect(tcp?.port).to.equal(port);
    expect(port).to.be.a('number').above(0);
    expect(host).to.equal('127.0.0.1');
    const client = new Client({ port });
    defer(() => client.close());
    await client.connect();
  });

  it('listen() resolves with a UnixAddress for path options, which a Client takes as it is', async () => {
    const path = tempSocketPath();
    const server = new Server({ path });
    defer(() => server.close());
    const address = await server.listen();
    expect(address).to.deep.equal({ path });
    const unix: UnixAddress | undefined = address.path === undefined ? undefined : address;
    expect(unix?.path).to.equal(path);
    const client = new Client({ ...address });
    defer(() => client.close());
    await client.connect();
  });

  it('event listeners get typed arguments without casts', async () => {
    const server = new Server({ port: 0 });
    defer(() => server.close());
    const { port } = await server.listen();
    const seen: string[] = [];
    server.on('connect', (session) => seen.push(`connect ${typeof session.id}`));
    server.on('disconnect', (session, info) => seen.push(`disconnect ${info.reason}`));
    const client = new Client({ port });
    client.on('disconnect', (info) => seen.push(`client ${info.reason}`));
    const connected = new Promise((resolve) => server.once('connect', resolve));
    await client.connect();
    await connected;
    const gone = new Promise((resolve) => server.once('disconnect', resolve));
    await client.close();
    await gone;
    expect(seen).to.deep.equal(['connect number', 'client closed', 'disconnect remote-closed']);
  });
});
