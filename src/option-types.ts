/**
 * The option types of {@link Server} and {@link Client}: what a caller may
 * give (with each default), and the resolved, frozen forms the resolvers in
 * `options.ts` produce. Import them from `./options.js`.
 *
 * @module
 */
import type { BlockList } from 'node:net';
import type { ConnectionOptions as TlsConnectionOptions, TlsOptions } from 'node:tls';
import type { Codec } from './codec.js';
import type { MsgpackCodec } from './codec-msgpack.js';
import type { Jitter } from './backoff.js';
import type { TypeRegistry, TypeSpec } from './type-registry.js';

/** Heartbeat settings. */
export interface PingOptions {
  /** Milliseconds between pings. @default 5000 */
  interval?: number;
  /** Unanswered pings after which the peer is declared dead. @default 3 */
  misses?: number;
}

/** Auto-reconnect settings of a {@link Client}. */
export interface ReconnectOptions {
  /** First delay, in ms. @default 100 */
  initial?: number;
  /** Largest delay, in ms. @default 10000 */
  max?: number;
  /** Growth factor per attempt. @default 2 */
  multiplier?: number;
  /** Randomisation of each delay. @default 'equal' */
  jitter?: Jitter;
  /**
   * Keep trying when the very first `connect()` finds no server, instead of
   * rejecting.
   * @default false
   */
  retryFirstConnect?: boolean;
}

/** One server of a client's `servers` list. */
export type ServerAddress = { readonly port: number; readonly host?: string } | { readonly path: string };

/** The client's offline queue. */
export interface QueueOptions {
  /** Most messages and requests held while (re)connecting. @default 10000 */
  maxMessages?: number;
  /** Most bytes held while (re)connecting. @default 16 MiB */
  maxBytes?: number;
}

/** What the server does with a session that falls behind `sendAll()`. */
export interface SlowConsumerOptions {
  /** Bytes a session may have waiting in its write buffer before the policy applies. @default 8 MiB */
  maxBytes?: number;
  /**
   * `'disconnect'` closes the session (reason `slow-consumer`); `'drop'` skips
   * it for this broadcast and counts the drop; `'wait'` waits for it, holding
   * `sendAll()` back.
   * @default 'disconnect'
   */
  policy?: 'disconnect' | 'drop' | 'wait';
  /**
   * How long `sendAll()` waits for a session's write before it treats the
   * session as lagging and stops waiting for it (until it has caught up).
   * @default 250
   */
  lag?: number;
}

/** The server's memory of acknowledged messages, for dropping duplicates. */
export interface DedupOptions {
  /** Most client identities remembered. @default 10000 */
  maxClients?: number;
  /** Milliseconds after which a client that was not seen is forgotten. @default 600000 */
  ttl?: number;
}

/** A line terminator, or one for each direction. */
export type LineTerminator = string | { receive: string; send: string };

/** Options shared by {@link Server} and {@link Client}. */
export interface CommonOptions {
  /** Classes to rebuild on receipt, or a ready {@link TypeRegistry}. @default none */
  types?: Iterable<TypeSpec> | TypeRegistry;
  /** Default `request()` timeout in ms; 0 waits forever. @default 30000 */
  requestTimeout?: number;
  /** Heartbeat, or `false` for none. @default { interval: 5000, misses: 3 } */
  ping?: PingOptions | false;
  /** Largest frame accepted, in bytes. @default 16 MiB */
  maxFrameBytes?: number;
  /** Longest JSON line accepted from a lines peer, in bytes. @default 1 MiB */
  maxLineBytes?: number;
  /** Most requests in flight per connection, each way. @default 10000 */
  maxPendingRequests?: number;
  /** Deepest nesting of a value, encoding or decoding. @default 256 */
  maxDepth?: number;
  /** Time allowed for the hello exchange, in ms. @default 5000 */
  handshakeTimeout?: number;
  /** Terminator of JSON lines. @default '\n' */
  lineTerminator?: LineTerminator;
  /** Send the stack of a failing request handler's error to the requester. @default false */
  sendErrorStacks?: boolean;
  /** Most attachments (binary values) in one frame. @default 4096 */
  maxAttachments?: number;
  /** Most functions held for the peer at once (functions passed inside values). @default 10000 */
  maxRemoteFunctions?: number;
  /**
   * How JSON lines are wrapped: `'none'` (one bare JSON value per line) or
   * `'sockhop'` (sockhop 1.x's `{"type":…,"data":…}` envelope, with its
   * callbacks, pings and request streams), to talk to sockhop 1.x programs.
   * @default 'none'
   */
  envelope?: 'none' | 'sockhop';
  /**
   * JSON-RPC 2.0 for JSON-lines peers: lines with `"jsonrpc":"2.0"` and a
   * `method` are requests (with `id`) or notifications, answered with
   * `result`/`error` lines; a lines client's `request({ method, params })`
   * sends one. See `docs/raw-clients.md`.
   * @default false
   */
  jsonRpc?: boolean;
  /**
   * What a JSON-lines peer gets for a line that is not valid JSON: an error
   * line back, the session staying open (`'reply'`), or a closed session
   * (`'close'`).
   * @default 'reply'
   */
  invalidLines?: 'reply' | 'close';
  /**
   * A shared secret: both sides prove they know it (HMAC-SHA256 challenge–
   * response in the hello) without sending it. A peer without it is refused
   * with `ERR_AUTH`.
   */
  secret?: string | Buffer;
  /**
   * Payload format of binary frames. `'msgpack'` (MessagePack, needs the
   * optional `msgpackr` package) is used on a connection only when the peer
   * asks for it too — both hellos announce it — and JSON otherwise, so either
   * side can turn it on first. Values round-trip identically either way. Not
   * with `transport: 'udp'` or `nats`, whose payloads are JSON. See `docs/codecs.md`.
   * @default 'json'
   */
  codec?: 'json' | 'msgpack';
  /**
   * Bytes the socket may hold unsent before `send()` rejects with
   * `ERR_BUFFER_FULL` (a peer that reads slower than this side sends).
   * @default 64 MiB
   */
  maxWriteBuffer?: number;
}

/**
 * Where a NATS-carried server or client connects (see `docs/scaling.md`).
 * The NATS client does its own reconnect, heartbeat and backoff.
 */
export interface NatsOptions {
  /** One or more `nats://host:port` URLs of the cluster. */
  servers: string | readonly string[];
  /** The name the NATS server shows for this connection. @default 'hopwire <server|client> <subject>' */
  name?: string;
  /** Milliseconds between the NATS client's reconnect rounds. @default 2000 */
  reconnectTimeWait?: number;
  /** Reconnect rounds before the NATS client gives up; -1: never. @default -1 */
  maxReconnectAttempts?: number;
  /** Milliseconds between the NATS client's pings to its server. @default 120000 */
  pingInterval?: number;
  /** Unanswered pings before the NATS client drops the connection. @default 2 */
  maxPingOut?: number;
  /**
   * Any other option of the NATS client's `connect()` (`user`, `pass`,
   * `token`, `tls`, `authenticator`, …), passed to it unchanged.
   */
  readonly [option: string]: unknown;
}

/** What carries a {@link Server}'s or {@link Client}'s messages. */
export interface TransportOptions {
  /**
   * `'stream'`: a TCP, TLS or Unix socket (chosen by `port`, `tls`, `path`);
   * `'udp'`: fire-and-forget datagrams, one message each (see `docs/udp.md`).
   * With the `nats` option the transport is NATS whatever this says.
   * @default 'stream'
   */
  transport?: 'stream' | 'udp';
  /** Carry the frames over a NATS cluster instead of a socket; needs `subject`. */
  nats?: NatsOptions;
  /** The NATS subject of the service (with `nats`). */
  subject?: string;
}

/** Settings of `transport: 'udp'`, both sides (see `docs/udp.md`). */
export interface UdpOptions {
  /**
   * Largest datagram sent or accepted, in bytes (header included): a value
   * whose datagram would be larger is refused with `ERR_DATAGRAM_TOO_LARGE`,
   * and a larger datagram received is dropped. Lowered to what the address
   * family carries; keep it under the path MTU (about 1,400 bytes on most
   * networks) to avoid IP fragmentation. From 64 to 65527.
   * @default 65507 over IPv4, 65527 over IPv6
   */
  maxDatagramBytes?: number;
}

/** Settings of a {@link Server} with `transport: 'udp'`. */
export interface UdpServerOptions extends UdpOptions {
  /**
   * A UDP peer the server has not heard from for this long (ms) is dropped:
   * its session ends with reason `'idle'`, and `sendAll()` no longer reaches
   * it. Its next datagram makes a new session.
   * @default 30000
   */
  peerTimeout?: number;
}

/** Options of {@link Server}. */
export interface ServerOptions extends CommonOptions, TransportOptions, UdpServerOptions {
  /** TCP port; 0 picks a free one. Ignored when `path` is set. @default 0 */
  port?: number;
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** Unix domain socket path, instead of TCP. */
  path?: string;
  /** File mode of the Unix socket. @default 0o600 */
  socketMode?: number;
  /**
   * Framing: `'auto'` tells hopwire peers from JSON-lines peers by their
   * first byte; `'binary'` refuses lines peers; `'lines'` speaks only lines.
   * @default 'auto'
   */
  protocol?: 'auto' | 'binary' | 'lines';
  /** A peer that sends nothing for this long (ms) is taken as a JSON-lines peer. @default 200 */
  detectTimeout?: number;
  /** What to do with sessions that fall behind `sendAll()`. */
  slowConsumer?: SlowConsumerOptions;
  /** TLS: key, cert, ca, `requestCert`, … passed to `tls.createServer`. TCP only. */
  tls?: TlsOptions;
  /**
   * Addresses and CIDR ranges allowed to connect (`'127.0.0.1'`, `'10.0.0.0/8'`,
   * `'::1'`, `'fd00::/8'`); others are closed at accept, before any byte is
   * read. TCP only. @default everyone
   */
  allow?: readonly string[];
  /** Most connections at once; more are closed at accept. @default 10000 */
  maxConnections?: number;
  /** With a `secret`, still accept JSON-lines peers (they cannot authenticate). @default false */
  allowLinesWithSecret?: boolean;
  /**
   * Serve `server.metrics()` over HTTP at `/metrics` (Prometheus text format).
   * `host` defaults to `'127.0.0.1'`; `port: 0` picks a free one.
   */
  metrics?: { port: number; host?: string };
  /** Memory of acknowledged messages (see `docs/delivery.md`). */
  dedup?: DedupOptions;
}

/** Options of {@link Client}. */
export interface ClientOptions extends CommonOptions, TransportOptions, UdpOptions {
  /** TCP port of the server. (`undefined` is accepted so a `ListenAddress` can be spread in.) */
  port?: number | undefined;
  /** Host of the server. @default '127.0.0.1' */
  host?: string | undefined;
  /** Unix domain socket path of the server, instead of TCP. */
  path?: string | undefined;
  /** `'lines'` talks JSON lines to a server that is not hopwire. @default 'binary' */
  protocol?: 'binary' | 'lines';
  /** Auto-reconnect, or `false` for none. @default see {@link ReconnectOptions} */
  reconnect?: ReconnectOptions | false;
  /** Time allowed to open the socket, in ms. @default 5000 */
  connectTimeout?: number;
  /** Most messages a `messages()` iterator buffers before it fails with `ERR_QUEUE_FULL`. @default 65536 */
  maxIteratorBuffer?: number;
  /** The offline queue used while (re)connecting, or `false` to reject sends instead. */
  queue?: QueueOptions | false;
  /**
   * Several servers behind one client: `[{ port: 5001 }, { port: 5002, host }, { path }]`.
   * Each gets its own connection, reconnect and queue; sends and requests
   * go to a connected one chosen by `strategy`. Instead of `port`/`path`.
   */
  servers?: readonly ServerAddress[];
  /**
   * How `servers` share the work: `'round-robin'` spreads sends and requests
   * over the connected servers, `'failover'` uses the first connected one in
   * list order, `'random'` picks a connected one at random.
   * @default 'round-robin'
   */
  strategy?: 'round-robin' | 'failover' | 'random';
  /**
   * TLS: `true`, or options for `tls.connect` (`ca`, `cert`, `key`,
   * `servername`, …). The server certificate is verified unless
   * `rejectUnauthorized: false` is given explicitly. TCP only.
   */
  tls?: true | TlsConnectionOptions;
}

/** The resolved, frozen form of {@link CommonOptions}. */
export interface ResolvedCommon {
  readonly codec: Codec;
  /** Set with `codec: 'msgpack'`: the MessagePack payloads offered in the hello. */
  readonly msgpack: MsgpackCodec | undefined;
  readonly requestTimeout: number;
  readonly ping: Readonly<Required<PingOptions>> | false;
  readonly maxFrameBytes: number;
  readonly maxLineBytes: number;
  readonly maxPendingRequests: number;
  readonly handshakeTimeout: number;
  readonly receiveTerminator: string;
  readonly sendTerminator: string;
  readonly sendErrorStacks: boolean;
  readonly maxWriteBuffer: number;
  readonly maxAttachments: number;
  readonly maxRemoteFunctions: number;
  readonly secret: Buffer | undefined;
  readonly envelope: 'none' | 'sockhop';
  readonly jsonRpc: boolean;
  readonly invalidLines: 'reply' | 'close';
}

/** The resolved transport options. */
export interface ResolvedTransport {
  /** `'nats'` when the `nats` option is given. */
  readonly transport: 'stream' | 'udp' | 'nats';
  readonly nats: Readonly<NatsOptions> | undefined;
  readonly subject: string | undefined;
}

/** The resolved UDP options. */
export interface ResolvedUdp {
  /** `undefined`: as large as the address family allows. */
  readonly maxDatagramBytes: number | undefined;
}

/** Where a socket lives. */
export type Endpoint = { readonly port: number; readonly host: string } | { readonly path: string };

/** The resolved, frozen form of {@link ServerOptions}. */
export interface ResolvedServerOptions extends ResolvedCommon, ResolvedTransport, ResolvedUdp {
  readonly endpoint: Endpoint;
  readonly socketMode: number;
  readonly protocol: 'auto' | 'binary' | 'lines';
  readonly detectTimeout: number;
  readonly slowConsumer: Readonly<Required<SlowConsumerOptions>>;
  readonly dedup: Readonly<Required<DedupOptions>>;
  readonly tls: TlsOptions | undefined;
  readonly allow: BlockList | undefined;
  readonly maxConnections: number;
  readonly allowLinesWithSecret: boolean;
  readonly metrics: { readonly port: number; readonly host: string } | undefined;
  readonly peerTimeout: number;
}

/** The resolved, frozen form of {@link ClientOptions}. */
export interface ResolvedClientOptions extends ResolvedCommon, ResolvedTransport, ResolvedUdp {
  readonly endpoint: Endpoint;
  readonly protocol: 'binary' | 'lines';
  readonly reconnect: Readonly<Required<ReconnectOptions>> | false;
  readonly connectTimeout: number;
  readonly maxIteratorBuffer: number;
  readonly queue: Readonly<Required<QueueOptions>> | false;
  readonly tls: TlsConnectionOptions | undefined;
  readonly servers: readonly Endpoint[];
  readonly strategy: 'round-robin' | 'failover' | 'random';
}
