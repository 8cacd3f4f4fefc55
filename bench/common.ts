/**
 * What every part of the network benchmark shares: the scenarios' payloads
 * and their validation, the endpoints, the adapter interface each contender
 * implements, and the messages the orchestrator and its child processes
 * exchange over IPC.
 *
 * Nothing here touches a socket.
 */

/** A 1 MiB buffer (S4). */
export const MIB = 1024 * 1024;

/** Where a server listens, as the orchestrator asks for it. */
export type Transport = 'tcp' | 'unix';

/** Where a server actually listens: what clients connect to. */
export type Endpoint = { readonly kind: 'tcp'; readonly host: string; readonly port: number } | { readonly kind: 'unix'; readonly path: string };

/** What the orchestrator asks a server to listen on. */
export type ListenRequest = { readonly kind: 'tcp' } | { readonly kind: 'unix'; readonly path: string };

/**
 * What a message is:
 * - `small`: `{ id, name: 'widget', tags: ['a', 'b'], price: 12.5, ok: true }` (S1, S3, S5, the requests of S2/S3)
 * - `class`: a registered {@link Widget} holding a `Date` and a `Map` (S7)
 * - `hooked`: the same as a {@link HookedWidget}, registered with hooks that send it as plain JSON (S7)
 * - `plain`: the same information as `class` in plain JSON (S7's baseline)
 * - `buffer`: a 1 MiB Buffer whose first 4 bytes are the id (S4)
 */
export type Payload = 'small' | 'class' | 'hooked' | 'plain' | 'buffer';

/** The contenders. */
export type ContenderName = 'hopwire' | 'hopwire-msgpack' | 'raw-net' | 'raw-bytes' | 'sockhop' | 'zeromq' | 'hopwire-nats';

/** The kinds of workload: one-way stream, request/reply, broadcast. */
export type Workload = 'push' | 'rpc' | 'broadcast';

/** The registered class of S7. Both ends register it with hopwire. */
export class Widget {
  id: number;
  name: string;
  price: number;
  made: Date;
  dims: Map<string, number>;
  constructor(id: number, name: string, price: number, made: Date, dims: Map<string, number>) {
    this.id = id;
    this.name = name;
    this.price = price;
    this.made = made;
    this.dims = dims;
  }
  /** A method, to show the instance is real. */
  volume(): number {
    return (this.dims.get('w') ?? 0) * (this.dims.get('h') ?? 0) * (this.dims.get('d') ?? 0);
  }
}

/**
 * S7's Widget again, registered with {@link hookedWidgetHooks}: the way
 * docs/types.md gives to send a class that is sent a lot, measured beside the
 * default (own properties, tagged).
 */
export class HookedWidget extends Widget {}

/** What {@link hookedWidgetHooks} put on the wire: plain JSON, the `Date` as ms, the `Map` as an object. */
interface WidgetWire {
  id: number;
  name: string;
  price: number;
  made: number;
  dims: Record<string, number>;
}

/** toWire/fromWire hooks that send a {@link HookedWidget} as plain JSON and build it back with its constructor. */
export const hookedWidgetHooks = {
  toWire(w: HookedWidget): WidgetWire {
    const dims: Record<string, number> = {};
    for (const [k, v] of w.dims) dims[k] = v;
    return { id: w.id, name: w.name, price: w.price, made: w.made.getTime(), dims };
  },
  fromWire(data: unknown): HookedWidget {
    const d = data as { [K in keyof WidgetWire]?: unknown } | null;
    if (typeof d?.id !== 'number' || typeof d.name !== 'string' || typeof d.price !== 'number' || typeof d.made !== 'number' || typeof d.dims !== 'object' || d.dims === null) {
      throw new TypeError('not a Widget');
    }
    const given = d.dims as Record<string, unknown>;
    const dims = new Map<string, number>();
    for (const k in given) {
      if (!Object.hasOwn(given, k)) continue;
      const v = given[k];
      if (typeof v !== 'number') throw new TypeError('not a Widget: a dimension is not a number');
      dims.set(k, v);
    }
    return new HookedWidget(d.id, d.name, d.price, new Date(d.made), dims);
  },
};

const MADE_MS = Date.UTC(2024, 0, 2, 3, 4, 5);
const MADE_ISO = new Date(MADE_MS).toISOString();
const VOLUME = 12 * 3.5 * 40;

/** Byte `i` of an S4 buffer (after its 4-byte id): a fixed pattern, so the receiver can spot-check it. */
export function patternByte(i: number): number {
  return (i * 31 + 7) & 0xff;
}

const PATTERN: Buffer = (() => {
  const b = Buffer.allocUnsafe(MIB);
  for (let i = 0; i < MIB; i++) b[i] = patternByte(i);
  return b;
})();
const LAST_BYTE = patternByte(MIB - 1);
const MID_BYTE = patternByte(MIB >> 1);

/** Small object sent in S1/S3/S5 (and the request of S2/S3). */
export interface Small {
  id: number;
  name: string;
  tags: string[];
  price: number;
  ok: boolean;
}

/** Makes message `i` of a payload kind. Buffers are fresh each time: a sender may still hold the previous one. */
export function makeItem(payload: Payload, i: number): unknown {
  switch (payload) {
    case 'small':
      return { id: i, name: 'widget', tags: ['a', 'b'], price: 12.5, ok: true } satisfies Small;
    case 'class':
      return new Widget(i, 'widget', 12.5, new Date(MADE_MS), new Map([['w', 12], ['h', 3.5], ['d', 40]]));
    case 'hooked':
      return new HookedWidget(i, 'widget', 12.5, new Date(MADE_MS), new Map([['w', 12], ['h', 3.5], ['d', 40]]));
    case 'plain':
      return { id: i, name: 'widget', price: 12.5, made: MADE_ISO, dims: { w: 12, h: 3.5, d: 40 } };
    case 'buffer': {
      const b = Buffer.from(PATTERN);
      b.writeUInt32BE(i, 0);
      return b;
    }
  }
}

/** The reply of S2/S3. */
export interface Reply {
  id: number;
  ok: boolean;
  v: number;
}

/** What a server answers to request `req`. */
export function makeReply(req: unknown): Reply {
  return { id: (req as Small).id, ok: true, v: 1 };
}

/** A benchmark validation failure: the run is void. */
export class BenchFailure extends Error {
  override name = 'BenchFailure';
}

/** Throws a {@link BenchFailure}. */
export function fail(message: string): never {
  throw new BenchFailure(message);
}

/**
 * What raw-bytes' server reports for each 1 MiB it counted: it never holds a
 * message as one Buffer, so it checks the id and the spot bytes as they
 * stream past.
 */
export interface RawBytesMessage {
  readonly rawId: number;
  readonly bytesOk: boolean;
}

/** How a stream of messages is checked: by payload, or as raw-bytes counts. */
export type CheckKind = Payload | 'raw-bytes';

/** Checks that message `item` is message number `expected` of kind `payload`, intact. */
export function checkItem(payload: CheckKind, item: unknown, expected: number): void {
  switch (payload) {
    case 'raw-bytes': {
      const m = item as RawBytesMessage;
      if (m.rawId !== expected || !m.bytesOk) fail(`message ${expected}: raw bytes of id ${m.rawId}, spot bytes ${m.bytesOk ? 'right' : 'wrong'}`);
      return;
    }
    case 'small': {
      // what arrived is unchecked: look at it as unknowns
      const m = item as Partial<Record<keyof Small, unknown>> | null;
      if (m?.id !== expected || m.name !== 'widget' || m.price !== 12.5 || m.ok !== true || !Array.isArray(m.tags) || m.tags.length !== 2 || m.tags[1] !== 'b') {
        fail(`message ${expected}: got ${JSON.stringify(item)}`);
      }
      return;
    }
    case 'class':
    case 'hooked': {
      const cls = payload === 'class' ? Widget : HookedWidget;
      if (!(item instanceof cls) || Object.getPrototypeOf(item) !== cls.prototype) fail(`message ${expected}: not a ${cls.name} instance: ${describe(item)}`);
      if (item.id !== expected) fail(`message ${expected}: got Widget id ${item.id}`);
      if (!(item.made instanceof Date) || item.made.getTime() !== MADE_MS) fail(`message ${expected}: made is not the right Date`);
      if (!(item.dims instanceof Map) || item.dims.size !== 3 || item.volume() !== VOLUME) fail(`message ${expected}: dims is not the right Map`);
      return;
    }
    case 'plain': {
      const m = item as { id: number; name: string; made: string; dims: { w: number; h: number; d: number } } | null;
      if (m?.id !== expected || m.made !== MADE_ISO || m.dims.w * m.dims.h * m.dims.d !== VOLUME) fail(`message ${expected}: got ${JSON.stringify(item)}`);
      return;
    }
    case 'buffer': {
      if (!Buffer.isBuffer(item)) fail(`message ${expected}: not a Buffer: ${describe(item)}`);
      if (item.length !== MIB) fail(`message ${expected}: ${item.length} bytes, not ${MIB}`);
      const id = item.readUInt32BE(0);
      if (id !== expected || item[MIB - 1] !== LAST_BYTE || item[MIB >> 1] !== MID_BYTE) fail(`message ${expected}: got buffer id ${id} or wrong bytes`);
      return;
    }
  }
}

/** Checks a reply against its request id. */
export function checkReply(reply: unknown, expected: number): void {
  const r = reply as Partial<Record<keyof Reply, unknown>> | null;
  if (r?.id !== expected || r.ok !== true || r.v !== 1) fail(`reply to request ${expected}: got ${JSON.stringify(reply)}`);
}

function describe(v: unknown): string {
  if (v === null || typeof v !== 'object') return String(v);
  return `${v.constructor.name} ${JSON.stringify(v).slice(0, 200)}`;
}

/**
 * Counts messages of one stream and checks each in order: ids 0, 1, 2, …
 * within a phase. Anything out of order, missing, duplicated or damaged
 * fails the run.
 */
export class SequenceCheck {
  readonly #payload: CheckKind;
  #next = 0;
  #expected = 0;
  #onDone: (() => void) | undefined;

  constructor(payload: CheckKind) {
    this.#payload = payload;
  }

  /** Starts a phase of `count` messages; `onDone` runs once the last has arrived. */
  expect(count: number, onDone: () => void): void {
    if (this.#next !== this.#expected) fail(`a new phase started with ${this.#expected - this.#next} messages of the last one missing`);
    this.#next = 0;
    this.#expected = count;
    this.#onDone = onDone;
  }

  /** Checks one message. */
  push(item: unknown): void {
    if (this.#next >= this.#expected) fail(`message beyond the ${this.#expected} expected: ${describe(item)}`);
    checkItem(this.#payload, item, this.#next);
    this.#next++;
    if (this.#next === this.#expected) this.#onDone?.();
  }

  /** Messages received in this phase. */
  get received(): number {
    return this.#next;
  }
}

// ---- adapters ----------------------------------------------------------------

/** Something to close at the end. */
export interface Closable {
  close(): Promise<void>;
}

/** A server of the push workload: hands each decoded message to `sink`. */
export interface PushServer extends Closable {
  readonly endpoint: Endpoint;
}

/** A client of the push workload. */
export interface PushClient extends Closable {
  /**
   * Sends messages `0 … count-1` made by `make`, as a user of this library
   * would in a send-heavy loop, keeping at most about `window` messages
   * unconfirmed; resolves once the last is handed to the OS (or queued, for
   * zeromq).
   */
  sendAll(count: number, make: (i: number) => unknown, window: number): Promise<void>;
}

/** A request/reply client: one request, its reply. */
export interface RpcClient extends Closable {
  request(value: unknown): Promise<unknown>;
}

/** A server of the broadcast workload. */
export interface BroadcastServer extends Closable {
  readonly endpoint: Endpoint;
  /** Resolves once `n` peers are connected and ready to receive. */
  waitForPeers(n: number): Promise<void>;
  /** Broadcasts messages `0 … count-1` to every peer, at most about `window` unconfirmed. */
  broadcast(count: number, make: (i: number) => unknown, window: number): Promise<void>;
}

/** A contender's implementation of the workloads it supports; a missing one is "n/a". */
export interface Adapter {
  readonly push?: {
    server(listen: ListenRequest, payload: Payload, sink: (item: unknown) => void): Promise<PushServer>;
    client(endpoint: Endpoint, payload: Payload): Promise<PushClient>;
  };
  readonly rpc?: {
    server(listen: ListenRequest, reply: (req: unknown) => unknown): Promise<PushServer>;
    client(endpoint: Endpoint): Promise<RpcClient>;
  };
  readonly broadcast?: {
    server(listen: ListenRequest): Promise<BroadcastServer>;
    /** Opens `connections` connections; `sink(conn, item)` gets each message of connection `conn`. */
    clients(endpoint: Endpoint, connections: number, sink: (conn: number, item: unknown) => void): Promise<Closable>;
  };
  /** Payload kinds the push workload supports (default: all but class and plain). */
  readonly pushPayloads?: readonly Payload[];
}

// ---- jobs and IPC --------------------------------------------------------------

/** One measured run of one contender in one scenario, as the orchestrator plans it. */
export interface Job {
  readonly scenario: string;
  readonly contender: ContenderName;
  readonly workload: Workload;
  readonly transport: Transport;
  readonly payload: Payload;
  /** Messages (push, broadcast) or requests (rpc) in the measured phase. */
  readonly count: number;
  /** The same, in the warm-up phase. */
  readonly warm: number;
  /** Requests in flight (rpc) or messages sent between two awaited ones (push, broadcast). */
  readonly window: number;
  /** broadcast: connections per client process. */
  readonly connections: number;
  /** broadcast: client processes. */
  readonly clientProcesses: number;
  /** rpc: record the latency of each request. */
  readonly latencies: boolean;
}

/** What a child process is started with (argv[2], JSON). */
export interface WorkerConfig {
  readonly job: Job;
  readonly role: 'server' | 'client';
  /** Server: where to listen. Client: where to connect. */
  readonly listen?: ListenRequest;
  readonly endpoint?: Endpoint;
}

/** From the orchestrator to a child. */
export type ToWorker =
  | { readonly type: 'mark' } // start CPU accounting now (the measured phase begins)
  | { readonly type: 'expect'; readonly phase: string; readonly count: number } // push server / broadcast clients
  | { readonly type: 'go'; readonly phase: string; readonly count: number } // push client / rpc client / broadcast server
  | { readonly type: 'report' }
  | { readonly type: 'exit' };

/** From a child to the orchestrator. */
export type FromWorker =
  | { readonly type: 'listening'; readonly endpoint: Endpoint }
  | { readonly type: 'ready' }
  | { readonly type: 'ack' }
  | { readonly type: 'done'; readonly phase: string; readonly t0?: bigint; readonly t1: bigint; readonly p50?: number; readonly p99?: number }
  | { readonly type: 'report'; readonly cpuMicros: number; readonly maxRssKiB: number }
  | { readonly type: 'failed'; readonly message: string };
