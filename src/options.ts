/**
 * Every option of {@link Server} and {@link Client}, with its default, and
 * the resolvers that validate and freeze them once, at construction. A bad
 * option throws `ERR_INVALID_OPTION` from the constructor, never later.
 *
 * @module
 */
import { BlockList, isIP } from 'node:net';
import type { ConnectionOptions as TlsConnectionOptions, TlsOptions } from 'node:tls';
import { Codec } from './codec.js';
import { MAX_TIMER_DELAY } from './timers.js';
import { ErrorCode, HopwireError } from './errors.js';
import type { Jitter } from './backoff.js';
import { TypeRegistry, type TypeSpec } from './type-registry.js';

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
  /**
   * How JSON lines are wrapped: `'none'` (one bare JSON value per line) or
   * `'sockhop'` (sockhop 1.x's `{"type":…,"data":…}` envelope, with its
   * callbacks, pings and request streams), to talk to sockhop 1.x programs.
   * @default 'none'
   */
  envelope?: 'none' | 'sockhop';
  /**
   * A shared secret: both sides prove they know it (HMAC-SHA256 challenge–
   * response in the hello) without sending it. A peer without it is refused
   * with `ERR_AUTH`.
   */
  secret?: string | Buffer;
  /**
   * Bytes the socket may hold unsent before `send()` rejects with
   * `ERR_BUFFER_FULL` (a peer that reads slower than this side sends).
   * @default 64 MiB
   */
  maxWriteBuffer?: number;
}

/** Options of {@link Server}. */
export interface ServerOptions extends CommonOptions {
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
export interface ClientOptions extends CommonOptions {
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
  readonly secret: Buffer | undefined;
  readonly envelope: 'none' | 'sockhop';
}

/** Where a socket lives. */
export type Endpoint = { readonly port: number; readonly host: string } | { readonly path: string };

/** The resolved, frozen form of {@link ServerOptions}. */
export interface ResolvedServerOptions extends ResolvedCommon {
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
}

/** The resolved, frozen form of {@link ClientOptions}. */
export interface ResolvedClientOptions extends ResolvedCommon {
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

/** The defaults, in one place. */
export const DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  requestTimeout: 30_000,
  ping: Object.freeze({ interval: 5_000, misses: 3 }),
  maxFrameBytes: 16 * 1024 * 1024,
  maxLineBytes: 1024 * 1024,
  maxPendingRequests: 10_000,
  maxDepth: 256,
  handshakeTimeout: 5_000,
  lineTerminator: '\n',
  socketMode: 0o600,
  detectTimeout: 200,
  reconnect: Object.freeze({ initial: 100, max: 10_000, multiplier: 2, jitter: 'equal', retryFirstConnect: false }),
  connectTimeout: 5_000,
  maxIteratorBuffer: 65_536,
  maxWriteBuffer: 64 * 1024 * 1024,
  queue: Object.freeze({ maxMessages: 10_000, maxBytes: 16 * 1024 * 1024 }),
  slowConsumer: Object.freeze({ maxBytes: 8 * 1024 * 1024, policy: 'disconnect', lag: 250 }),
  dedup: Object.freeze({ maxClients: 10_000, ttl: 600_000 }),
  maxAttachments: 4096,
  maxConnections: 10_000,
});

/** Resolves server options. @throws HopwireError `ERR_INVALID_OPTION` */
export function resolveServerOptions(options: ServerOptions = {}): ResolvedServerOptions {
  const o = checkObject(options, 'server options');
  const protocol = oneOf(o.protocol, 'protocol', ['auto', 'binary', 'lines'] as const, 'auto');
  return Object.freeze({
    ...resolveCommon(o),
    endpoint: resolveEndpoint(o, false),
    socketMode: integer(o.socketMode, 'socketMode', DEFAULTS.socketMode, 0, 0o777),
    protocol,
    detectTimeout: integer(o.detectTimeout, 'detectTimeout', DEFAULTS.detectTimeout, 0, MAX_TIMER_DELAY),
    slowConsumer: resolveSlowConsumer(o.slowConsumer),
    dedup: resolveDedup(o.dedup),
    tls: resolveTls<TlsOptions>(o.tls, o.path, 'server'),
    allow: resolveAllow(o.allow, o.path),
    maxConnections: integer(o.maxConnections, 'maxConnections', DEFAULTS.maxConnections, 1),
    allowLinesWithSecret: boolean(o.allowLinesWithSecret, 'allowLinesWithSecret', false),
    metrics:
      o.metrics === undefined
        ? undefined
        : Object.freeze({
            port: integer(checkObject(o.metrics, 'metrics').port, 'metrics.port', 0, 0, 65_535),
            host: o.metrics.host ?? DEFAULTS.host,
          }),
  });
}

/** Resolves client options. @throws HopwireError `ERR_INVALID_OPTION` */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  const o = checkObject(options, 'client options');
  const servers = resolveServers(o);
  const protocol = oneOf(o.protocol, 'protocol', ['binary', 'lines'] as const, 'binary');
  return Object.freeze({
    ...resolveCommon(o),
    endpoint: servers[0] ?? resolveEndpoint(o, true),
    servers,
    strategy: oneOf(o.strategy, 'strategy', ['round-robin', 'failover', 'random'] as const, 'round-robin'),
    protocol,
    reconnect: resolveReconnect(o.reconnect),
    connectTimeout: integer(o.connectTimeout, 'connectTimeout', DEFAULTS.connectTimeout, 1, MAX_TIMER_DELAY),
    maxIteratorBuffer: integer(o.maxIteratorBuffer, 'maxIteratorBuffer', DEFAULTS.maxIteratorBuffer, 1),
    queue: resolveQueue(o.queue),
    tls: resolveTls(o.tls === true ? {} : o.tls, o.path, 'client'),
  });
}

function resolveCommon(o: CommonOptions): ResolvedCommon {
  const registry = o.types instanceof TypeRegistry ? o.types : new TypeRegistry(o.types ?? []);
  const maxDepth = integer(o.maxDepth, 'maxDepth', DEFAULTS.maxDepth, 1);
  const terminator = o.lineTerminator ?? DEFAULTS.lineTerminator;
  const [receiveTerminator, sendTerminator] =
    typeof terminator === 'string' ? [terminator, terminator] : [terminator.receive, terminator.send];
  for (const t of [receiveTerminator, sendTerminator]) {
    if (typeof t !== 'string' || t === '') invalid('lineTerminator must be a non-empty string or { receive, send }');
  }
  return {
    codec: new Codec(registry, { maxDepth }),
    requestTimeout: integer(o.requestTimeout, 'requestTimeout', DEFAULTS.requestTimeout, 0, MAX_TIMER_DELAY),
    ping: resolvePing(o.ping),
    maxFrameBytes: integer(o.maxFrameBytes, 'maxFrameBytes', DEFAULTS.maxFrameBytes, 64, 0xffff_ffff),
    maxLineBytes: integer(o.maxLineBytes, 'maxLineBytes', DEFAULTS.maxLineBytes, 1),
    maxPendingRequests: integer(o.maxPendingRequests, 'maxPendingRequests', DEFAULTS.maxPendingRequests, 1, 0xffff_ffff),
    handshakeTimeout: integer(o.handshakeTimeout, 'handshakeTimeout', DEFAULTS.handshakeTimeout, 1, MAX_TIMER_DELAY),
    receiveTerminator,
    sendTerminator,
    sendErrorStacks: boolean(o.sendErrorStacks, 'sendErrorStacks', false),
    maxWriteBuffer: integer(o.maxWriteBuffer, 'maxWriteBuffer', DEFAULTS.maxWriteBuffer, 1),
    maxAttachments: integer(o.maxAttachments, 'maxAttachments', DEFAULTS.maxAttachments, 0, 0xffff),
    secret: resolveSecret(o.secret),
    envelope: oneOf(o.envelope, 'envelope', ['none', 'sockhop'] as const, 'none'),
  };
}

function resolveServers(o: ClientOptions): readonly Endpoint[] {
  if (o.servers === undefined) return [];
  if (!Array.isArray(o.servers) || o.servers.length === 0) invalid('servers must be a non-empty array of { port, host } or { path }');
  if (o.port !== undefined || o.path !== undefined) invalid('give either servers, or port/path, not both');
  return Object.freeze(
    o.servers.map((server: unknown, i) => {
      if (typeof server !== 'object' || server === null) invalid(`servers[${i}] must be { port, host } or { path }`);
      return resolveEndpoint(server, true);
    }),
  );
}

function resolveSecret(secret: string | Buffer | undefined): Buffer | undefined {
  if (secret === undefined) return undefined;
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.isBuffer(secret) ? Buffer.from(secret) : undefined;
  if (bytes === undefined || bytes.length === 0) invalid('secret must be a non-empty string or Buffer');
  return bytes;
}

function resolveTls<T extends object>(tls: T | undefined, path: string | undefined, side: string): T | undefined {
  if (tls === undefined) return undefined;
  if (typeof tls !== 'object') invalid(`tls must be ${side === 'client' ? 'true or ' : ''}an object of tls options`);
  if (path !== undefined) invalid('tls works over TCP only; Unix sockets rely on file permissions (socketMode)');
  return Object.freeze({ ...tls });
}

function resolveAllow(allow: readonly string[] | undefined, path: string | undefined): BlockList | undefined {
  if (allow === undefined) return undefined;
  if (!Array.isArray(allow)) invalid('allow must be an array of addresses or CIDR ranges');
  if (path !== undefined) invalid('allow works over TCP only; Unix sockets rely on file permissions (socketMode)');
  const list = new BlockList();
  for (const entry of allow as unknown[]) {
    if (typeof entry !== 'string') invalid(`allow: ${describe(entry)} is not a string`);
    const [address = '', bits, extra] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || extra !== undefined) invalid(`allow: "${entry}" is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) {
      list.addAddress(address, type);
    } else {
      const prefix = Number(bits);
      if (!/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128)) invalid(`allow: "${entry}" has a bad prefix length`);
      list.addSubnet(address, prefix, type);
    }
  }
  return list;
}

function resolveQueue(queue: QueueOptions | false | undefined): ResolvedClientOptions['queue'] {
  if (queue === false) return false;
  const q = checkObject(queue ?? {}, 'queue');
  return Object.freeze({
    maxMessages: integer(q.maxMessages, 'queue.maxMessages', DEFAULTS.queue.maxMessages, 1),
    maxBytes: integer(q.maxBytes, 'queue.maxBytes', DEFAULTS.queue.maxBytes, 1),
  });
}

function resolveSlowConsumer(slow: SlowConsumerOptions | undefined): ResolvedServerOptions['slowConsumer'] {
  const o = checkObject(slow ?? {}, 'slowConsumer');
  const d = DEFAULTS.slowConsumer;
  return Object.freeze({
    maxBytes: integer(o.maxBytes, 'slowConsumer.maxBytes', d.maxBytes, 1),
    policy: oneOf(o.policy, 'slowConsumer.policy', ['disconnect', 'drop', 'wait'] as const, d.policy),
    lag: integer(o.lag, 'slowConsumer.lag', d.lag, 0, MAX_TIMER_DELAY),
  });
}

function resolveDedup(dedup: DedupOptions | undefined): ResolvedServerOptions['dedup'] {
  const o = checkObject(dedup ?? {}, 'dedup');
  return Object.freeze({
    maxClients: integer(o.maxClients, 'dedup.maxClients', DEFAULTS.dedup.maxClients, 1),
    ttl: integer(o.ttl, 'dedup.ttl', DEFAULTS.dedup.ttl, 0),
  });
}

function resolvePing(ping: PingOptions | false | undefined): ResolvedCommon['ping'] {
  if (ping === false) return false;
  const p = checkObject(ping ?? {}, 'ping');
  return Object.freeze({
    interval: integer(p.interval, 'ping.interval', DEFAULTS.ping.interval, 1, MAX_TIMER_DELAY),
    misses: integer(p.misses, 'ping.misses', DEFAULTS.ping.misses, 1),
  });
}

function resolveReconnect(reconnect: ReconnectOptions | false | undefined): ResolvedClientOptions['reconnect'] {
  if (reconnect === false) return false;
  const r = checkObject(reconnect ?? {}, 'reconnect');
  const d = DEFAULTS.reconnect;
  const initial = integer(r.initial, 'reconnect.initial', d.initial, 0, MAX_TIMER_DELAY);
  const max = integer(r.max, 'reconnect.max', d.max, 0, MAX_TIMER_DELAY);
  if (max < initial) invalid(`reconnect.max (${max}) is smaller than reconnect.initial (${initial})`);
  const multiplier = r.multiplier ?? d.multiplier;
  if (typeof multiplier !== 'number' || !Number.isFinite(multiplier) || multiplier < 1) {
    invalid('reconnect.multiplier must be a finite number ≥ 1');
  }
  return Object.freeze({
    initial,
    max,
    multiplier,
    jitter: oneOf(r.jitter, 'reconnect.jitter', ['full', 'equal', 'none'] as const, d.jitter),
    retryFirstConnect: boolean(r.retryFirstConnect, 'reconnect.retryFirstConnect', d.retryFirstConnect),
  });
}

function resolveEndpoint(o: { port?: number | undefined; host?: string | undefined; path?: string | undefined }, needed: boolean): Endpoint {
  if (o.path !== undefined) {
    if (typeof o.path !== 'string' || o.path === '') invalid('path must be a non-empty string');
    if (o.port !== undefined) invalid('give either port or path, not both');
    return Object.freeze({ path: o.path });
  }
  if (needed && o.port === undefined) invalid('a client needs a port or a path');
  const host = o.host ?? DEFAULTS.host;
  if (typeof host !== 'string' || host === '') invalid('host must be a non-empty string');
  return Object.freeze({ port: integer(o.port, 'port', 0, 0, 65_535), host });
}

function checkObject<T extends object>(value: T, what: string): T {
  if (typeof value !== 'object' || (value as unknown) === null) invalid(`${what} must be an object`);
  return value;
}

function integer(value: unknown, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(`${name} must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

function boolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') invalid(`${name} must be true or false, got ${describe(value)}`);
  return value;
}

function oneOf<const T extends string>(value: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) invalid(`${name} must be one of ${allowed.join(', ')}, got ${describe(value)}`);
  return value as T;
}

function invalid(message: string): never {
  throw new HopwireError(ErrorCode.INVALID_OPTION, message);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return value === null ? 'null' : typeof value;
}
