/**
 * hopwire: pass real objects between Node.js programs over TCP and Unix
 * sockets — promises, class reconstruction, request/reply, heartbeat,
 * auto-reconnect, and plain JSON lines for programs that don't use hopwire.
 *
 * @example
 * ```ts
 * import { Server, Client } from 'hopwire';
 *
 * const server = new Server({ port: 0, types: [Widget] });
 * server.handle(async (req) => ({ ok: true }));
 * const { port } = await server.listen();
 *
 * const client = new Client({ port, types: [Widget] });
 * await client.connect();
 * const reply = await client.request({ op: 'sum' }, { timeout: 2000 });
 * await client.close();
 * await server.close();
 * ```
 *
 * @packageDocumentation
 */
export { Server } from './server.js';
export type { ServerEvents } from './server.js';
export { Session } from './session.js';
export type { ServerMessageContext, ServerRequestContext } from './session.js';
export { Client } from './client.js';
export type { ClientEvents, ClientMessageContext, ClientRequestContext, ClientState, ReceivedMessage, ReconnectInfo } from './client-types.js';
export type {
  DisconnectInfo,
  DisconnectReason,
  ListenAddress,
  MessageContext,
  Protocol,
  PayloadFormat,
  RequestContext,
  RequestHandler,
  RequestOptions,
  SendOptions,
  TcpAddress,
  UnixAddress,
} from './types.js';
export { DEFAULTS } from './options.js';
export type { ClientStats, ConnectionCounters, ServerStats, SessionStats } from './stats.js';
export { connectionChannel, frameChannel } from './connection.js';
export type {
  ClientOptions,
  CommonOptions,
  Endpoint,
  ResolvedClientOptions,
  ResolvedCommon,
  ResolvedServerOptions,
  ServerAddress,
  DedupOptions,
  QueueOptions,
  SlowConsumerOptions,
  LineTerminator,
  PingOptions,
  ReconnectOptions,
  ServerOptions,
  NatsOptions,
  TransportOptions,
  ResolvedTransport,
  UdpOptions,
  UdpServerOptions,
  ResolvedUdp,
} from './options.js';
export { ErrorCode, HopwireError, isHopwireError } from './errors.js';
export type { HopwireErrorDetails } from './errors.js';
export { TypeRegistry } from './type-registry.js';
export type { Remote, RouteKey } from './router.js';
export type { Constructor, TypeEntry, TypeOptions, TypeSpec } from './type-registry.js';
export { Codec, TAG } from './codec.js';
export type { CodecOptions, DecodedValue, EncodedValue, FunctionExporter, FunctionImporter, TreeWriter } from './codec.js';
export { MsgpackCodec } from './codec-msgpack.js';
export { FrameDecoder, payloadText } from './frame-decoder.js';
export type { FrameDecoderOptions } from './frame-decoder.js';
export { FrameFlags, FrameKind, MAGIC, PROTOCOL_VERSION, encodeFrame, encodeFrameToBuffer } from './frame.js';
export type { Frame, FrameInput } from './frame.js';
export { LineDecoder, encodeLine } from './line-decoder.js';
export type { LineDecoderOptions, LineResult } from './line-decoder.js';
export type { Jitter } from './backoff.js';
