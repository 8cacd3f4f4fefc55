/**
 * The transports other than stream sockets, by name: where `Server` and
 * `Client` find what `transport: 'udp'` and the `nats` option mean. The NATS
 * client package itself is imported only when a NATS transport connects.
 *
 * @module
 */
import type { ClientTransport, ClientTransportHost, ServerTransport, ServerTransportHost } from './transport.js';
import { NatsClientTransport } from './nats/nats-client-transport.js';
import { NatsServerTransport } from './nats/nats-server-transport.js';
import { UdpClientTransport } from './udp-client.js';
import { UdpServerTransport } from './udp-server.js';

/** The names of the transports made here. */
export type TransportName = 'udp' | 'nats';

/** Makes the server side of a transport. */
export function createServerTransport(name: TransportName, host: ServerTransportHost): ServerTransport {
  return name === 'udp' ? new UdpServerTransport(host) : new NatsServerTransport(host);
}

/** Makes the client side of a transport. */
export function createClientTransport(name: TransportName, host: ClientTransportHost): ClientTransport {
  return name === 'udp' ? new UdpClientTransport(host) : new NatsClientTransport(host);
}
