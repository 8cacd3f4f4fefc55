/**
 * The transports other than stream sockets, by name: where `Server` and
 * `Client` find what `transport: 'udp'` and the `nats` option mean.
 *
 * @module
 */
import { ErrorCode, HopwireError } from './errors.js';
import type { ClientTransport, ClientTransportHost, ServerTransport, ServerTransportHost } from './transport.js';
import { UdpClientTransport } from './udp-client.js';
import { UdpServerTransport } from './udp-server.js';

/** The names of the transports made here. */
export type TransportName = 'udp' | 'nats';

/** Makes the server side of a transport. */
export function createServerTransport(name: TransportName, host: ServerTransportHost): ServerTransport {
  if (name === 'udp') return new UdpServerTransport(host);
  return unavailable(name, host.settings.role);
}

/** Makes the client side of a transport. */
export function createClientTransport(name: TransportName, host: ClientTransportHost): ClientTransport {
  if (name === 'udp') return new UdpClientTransport(host);
  return unavailable(name, host.settings.role);
}

function unavailable(name: TransportName, role: string): never {
  throw new HopwireError(ErrorCode.UNSUPPORTED, `the ${name} transport is not available to a ${role}`);
}
