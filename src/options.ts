/**
 * Every option of {@link Server} and {@link Client}, with its default, and
 * the resolvers that validate and freeze them once, at construction. A bad
 * option throws `ERR_INVALID_OPTION` from the constructor, never later.
 *
 * The option types live in `option-types.ts` and the checks in
 * `option-checks.ts`; this module re-exports the types, so import them all
 * from here.
 *
 * @module
 */
import { BlockList, isIP } from 'node:net';
import type { TlsOptions } from 'node:tls';
import { Codec } from './codec.js';
import { MsgpackCodec } from './codec-msgpack.js';
import { MAX_TIMER_DELAY } from './timers.js';
import { TypeRegistry } from './type-registry.js';
import { MAX_DATAGRAM_BYTES_IPV6, MIN_DATAGRAM_BYTES } from './datagram.js';
import { boolean, checkObject, describe, integer, invalid, oneOf } from './option-checks.js';
import type {
  ClientOptions,
  CommonOptions,
  DedupOptions,
  Endpoint,
  PingOptions,
  QueueOptions,
  ReconnectOptions,
  ResolvedClientOptions,
  ResolvedCommon,
  ResolvedServerOptions,
  ResolvedTransport,
  ResolvedUdp,
  ServerOptions,
  SlowConsumerOptions,
  TransportOptions,
} from './option-types.js';

export type {
  CommonOptions,
  ServerOptions,
  ClientOptions,
  PingOptions,
  ReconnectOptions,
  QueueOptions,
  SlowConsumerOptions,
  DedupOptions,
  LineTerminator,
  ServerAddress,
  ResolvedCommon,
  Endpoint,
  ResolvedServerOptions,
  ResolvedClientOptions,
  NatsOptions,
  TransportOptions,
  ResolvedTransport,
  UdpOptions,
  UdpServerOptions,
  ResolvedUdp,
} from './option-types.js';

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
  maxRemoteFunctions: 10_000,
  maxConnections: 10_000,
  peerTimeout: 30_000,
});

/** Resolves server options. @throws HopwireError `ERR_INVALID_OPTION` */
export function resolveServerOptions(options: ServerOptions = {}): ResolvedServerOptions {
  const o = checkObject(options, 'server options');
  const protocol = oneOf(o.protocol, 'protocol', ['auto', 'binary', 'lines'] as const, 'auto');
  const transport = resolveTransport(o);
  return Object.freeze({
    ...resolveCommon(o),
    ...transport,
    ...resolveUdp(o, transport.transport),
    peerTimeout: resolvePeerTimeout(o, transport.transport),
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
  const transport = resolveTransport(o);
  const udp = resolveUdp(o, transport.transport);
  const endpoint = servers[0] ?? resolveEndpoint(o, transport.transport !== 'nats');
  if (transport.transport === 'udp' && 'port' in endpoint && endpoint.port === 0) invalid("a UDP client needs the server's port (1 to 65535)");
  return Object.freeze({
    ...resolveCommon(o),
    ...transport,
    ...udp,
    endpoint,
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
  const codec = new Codec(registry, { maxDepth });
  const format = oneOf(o.codec, 'codec', ['json', 'msgpack'] as const, 'json');
  return {
    codec,
    msgpack: format === 'msgpack' ? new MsgpackCodec(codec) : undefined,
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
    maxRemoteFunctions: integer(o.maxRemoteFunctions, 'maxRemoteFunctions', DEFAULTS.maxRemoteFunctions, 0),
    secret: resolveSecret(o.secret),
    envelope: oneOf(o.envelope, 'envelope', ['none', 'sockhop'] as const, 'none'),
    jsonRpc: boolean(o.jsonRpc, 'jsonRpc', false),
    invalidLines: oneOf(o.invalidLines, 'invalidLines', ['reply', 'close'] as const, 'reply'),
  };
}

function resolveTransport(o: TransportOptions): ResolvedTransport {
  const transport = oneOf(o.transport, 'transport', ['stream', 'udp'] as const, 'stream');
  if (o.nats === undefined) {
    if (o.subject !== undefined) invalid('subject needs the nats option');
    return { transport, nats: undefined, subject: undefined };
  }
  const nats = checkObject(o.nats, 'nats');
  const servers = nats.servers as unknown;
  const list = typeof servers === 'string' ? [servers] : Array.isArray(servers) ? (servers as unknown[]) : [];
  if (list.length === 0 || list.some((s) => typeof s !== 'string' || s === '')) invalid('nats.servers must be a URL or a non-empty array of URLs');
  if (typeof o.subject !== 'string' || o.subject === '' || /[\s*>]/.test(o.subject)) invalid('nats needs a subject: a non-empty string without spaces, * or >');
  if (o.transport === 'udp') invalid('give either transport: "udp" or nats, not both');
  return { transport: 'nats', nats: Object.freeze({ ...nats }), subject: o.subject };
}

/** Options that mean nothing over UDP, each with why; refused with `transport: 'udp'`. */
const NOT_OVER_UDP: readonly [keyof ServerOptions | keyof ClientOptions, (value: unknown) => boolean, string][] = [
  ['tls', (v) => v !== undefined, 'UDP datagrams are not encrypted; use TCP with tls, or a VPN'],
  ['path', (v) => v !== undefined, 'it names a Unix stream socket; UDP needs a port'],
  ['secret', (v) => v !== undefined, 'it is proved in the hello, and UDP has none'],
  ['allow', (v) => v !== undefined, 'it is checked at accept, and UDP accepts nothing; use a firewall'],
  ['servers', (v) => v !== undefined, 'use one client per server'],
  ['protocol', (v) => v === 'lines', 'UDP carries binary frames only'],
  ['envelope', (v) => v === 'sockhop', 'it is a JSON-lines dialect'],
  ['jsonRpc', (v) => v === true, 'it is a JSON-lines dialect'],
  ['codec', (v) => v === 'msgpack', 'the payload format is agreed in the hello, and UDP has none'],
];

/** Options that mean nothing with the `nats` option, each with why; refused with it. */
const NOT_OVER_NATS: readonly [keyof ServerOptions | keyof ClientOptions, (value: unknown) => boolean, string][] = [
  ['tls', (v) => v !== undefined, 'give the NATS client its tls inside the nats option'],
  ['path', (v) => v !== undefined, 'the NATS servers are given in nats.servers'],
  ['port', (v) => v !== undefined, 'the NATS servers are given in nats.servers'],
  ['secret', (v) => v !== undefined, 'it is proved in the hello of a stream; use the NATS server\'s authentication (user, token, nkeys)'],
  ['allow', (v) => v !== undefined, 'it is checked at accept; use the NATS server\'s authorization'],
  ['servers', (v) => v !== undefined, 'list the NATS servers in nats.servers'],
  ['protocol', (v) => v === 'lines', 'NATS carries binary frames only'],
  ['envelope', (v) => v === 'sockhop', 'it is a JSON-lines dialect'],
  ['jsonRpc', (v) => v === true, 'it is a JSON-lines dialect'],
  ['codec', (v) => v === 'msgpack', 'NATS payloads are JSON: no hello agrees on a format with every reader of a subject'],
];

/** The UDP options, checked against the transport. @throws HopwireError `ERR_INVALID_OPTION` */
function resolveUdp(o: ServerOptions | ClientOptions, transport: ResolvedTransport['transport']): ResolvedUdp {
  if (transport === 'nats') refuse(o, NOT_OVER_NATS, 'the nats option', 'scaling.md');
  if (transport !== 'udp') {
    if (o.maxDatagramBytes !== undefined) invalid('maxDatagramBytes needs transport: "udp"');
    return { maxDatagramBytes: undefined };
  }
  refuse(o, NOT_OVER_UDP, 'transport: "udp"', 'udp.md');
  return {
    maxDatagramBytes:
      o.maxDatagramBytes === undefined ? undefined : integer(o.maxDatagramBytes, 'maxDatagramBytes', 0, MIN_DATAGRAM_BYTES, MAX_DATAGRAM_BYTES_IPV6),
  };
}

/** Throws for the first option of `table` that is given. */
function refuse(o: ServerOptions | ClientOptions, table: typeof NOT_OVER_UDP, with_: string, doc: string): void {
  for (const [name, given, why] of table) {
    if (given((o as Record<string, unknown>)[name])) invalid(`${name} does not work with ${with_}: ${why} (see docs/${doc})`);
  }
}

function resolvePeerTimeout(o: ServerOptions, transport: ResolvedTransport['transport']): number {
  if (transport !== 'udp' && o.peerTimeout !== undefined) invalid('peerTimeout needs transport: "udp"');
  return integer(o.peerTimeout, 'peerTimeout', DEFAULTS.peerTimeout, 1, MAX_TIMER_DELAY);
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
