/**
 * The hopwire contender, used as its README shows: `Server` with
 * `on('message')` and `handle()`, `Client` with `send()` and `request()`,
 * `server.sendAll()` for broadcasts, default options except the registered
 * class. Send-heavy loops fire sends without awaiting each (writes of one
 * tick are batched) and await every `window`-th to keep memory bounded.
 * {@link hopwireAdapter} makes it with another payload format
 * (`hopwire-msgpack`: `codec: 'msgpack'` on both ends).
 */
import { Client, type ClientOptions, type ListenAddress, Server, type ServerOptions } from '../../src/index.js';
import { type Adapter, type BroadcastServer, type Closable, type Endpoint, type ListenRequest, type Payload, type PushClient, type PushServer, type RpcClient, HookedWidget, Widget, hookedWidgetHooks } from '../common.js';

const types = [Widget, [HookedWidget, hookedWidgetHooks]] as const;

function endpointOf(address: ListenAddress): Endpoint {
  if (address.path !== undefined) return { kind: 'unix', path: address.path };
  return { kind: 'tcp', host: address.host, port: address.port };
}

/** The hopwire adapter whose both ends use payload format `codec`. */
export function hopwireAdapter(codec: 'json' | 'msgpack'): Adapter {
  const common = codec === 'json' ? { types } : { types, codec };

  function serverOptions(listen: ListenRequest): ServerOptions {
    return listen.kind === 'unix' ? { path: listen.path, ...common } : { port: 0, host: '127.0.0.1', ...common };
  }

  async function connect(endpoint: Endpoint): Promise<Client> {
    const options: ClientOptions = endpoint.kind === 'unix' ? { path: endpoint.path, reconnect: false, ...common } : { host: endpoint.host, port: endpoint.port, reconnect: false, ...common };
    const client = new Client(options);
    await client.connect();
    if (client.payloadFormat !== codec) throw new Error(`the hopwire client talks ${client.payloadFormat}, not ${codec}`);
    return client;
  }

  async function pushServer(listen: ListenRequest, _payload: Payload, sink: (item: unknown) => void): Promise<PushServer> {
    const server = new Server(serverOptions(listen));
    server.on('message', (message) => {
      sink(message);
    });
    const endpoint = endpointOf(await server.listen());
    return { endpoint, close: () => server.close() };
  }

  async function pushClient(endpoint: Endpoint): Promise<PushClient> {
    const client = await connect(endpoint);
    return {
      async sendAll(count, make, window) {
        for (let i = 0; i < count; i++) {
          const sent = client.send(make(i));
          if ((i + 1) % window === 0 || i === count - 1) await sent;
        }
      },
      close: () => client.close(),
    };
  }

  async function rpcServer(listen: ListenRequest, reply: (req: unknown) => unknown): Promise<PushServer> {
    const server = new Server(serverOptions(listen));
    server.handle(reply);
    const endpoint = endpointOf(await server.listen());
    return { endpoint, close: () => server.close() };
  }

  async function rpcClient(endpoint: Endpoint): Promise<RpcClient> {
    const client = await connect(endpoint);
    return {
      request: (value) => client.request(value),
      close: () => client.close(),
    };
  }

  async function broadcastServer(listen: ListenRequest): Promise<BroadcastServer> {
    const server = new Server(serverOptions(listen));
    const endpoint = endpointOf(await server.listen());
    return {
      endpoint,
      waitForPeers: (n) =>
        new Promise((resolve) => {
          const check = (): void => {
            if (server.sessions.length < n) return;
            server.off('connect', check);
            resolve();
          };
          server.on('connect', check);
          check();
        }),
      async broadcast(count, make, window) {
        for (let i = 0; i < count; i++) {
          const sent = server.sendAll(make(i));
          if ((i + 1) % window === 0 || i === count - 1) await sent;
        }
      },
      close: () => server.close(),
    };
  }

  async function broadcastClients(endpoint: Endpoint, connections: number, sink: (conn: number, item: unknown) => void): Promise<Closable> {
    const clients: Client[] = [];
    for (let c = 0; c < connections; c++) {
      const client = await connect(endpoint);
      client.on('message', (message) => {
        sink(c, message);
      });
      clients.push(client);
    }
    return {
      close: async () => {
        await Promise.all(clients.map((c) => c.close()));
      },
    };
  }

  return {
    push: { server: pushServer, client: pushClient },
    rpc: { server: rpcServer, client: rpcClient },
    broadcast: { server: broadcastServer, clients: broadcastClients },
    pushPayloads: ['small', 'class', 'hooked', 'plain', 'buffer'],
  };
}

/** hopwire with its defaults (JSON payloads). */
export const adapter: Adapter = hopwireAdapter('json');
