/**
 * The scenarios of the network benchmark, the contenders of each, and the
 * jobs that make one round of runs.
 */
import type { ContenderName, Job } from './common.js';

/** One line of the results: a scenario (the fields of its jobs), with the contenders that take part. */
export interface Scenario extends Omit<Job, 'scenario' | 'contender'> {
  /** Short id: `S1 tcp`, `S4`, `S7 classes`, … */
  readonly id: string;
  readonly title: string;
  /** What the rate counts. */
  readonly unit: string;
  readonly contenders: readonly ContenderName[];
}

/** Every contender, in table order. */
export const CONTENDERS: readonly ContenderName[] = ['hopwire', 'hopwire-msgpack', 'raw-net', 'raw-bytes', 'sockhop', 'zeromq', 'hopwire-nats'];

/** Contenders run only when named with `--contenders` (they need outside software: `nats-server`). */
export const OPT_IN: readonly ContenderName[] = ['hopwire-nats'];

/** S2 and S3 can also run hopwire over a local NATS server (`hopwire-nats`, see docs/scaling.md). */
const RPC: readonly ContenderName[] = ['hopwire', 'raw-net', 'sockhop', 'zeromq', 'hopwire-nats'];

const STREAMERS: readonly ContenderName[] = ['hopwire', 'raw-net', 'sockhop', 'zeromq'];
/** The payload formats compete where they differ most: small objects, big buffers, classes. */
const WITH_MSGPACK: readonly ContenderName[] = [...STREAMERS, 'hopwire-msgpack'];

/** The scenarios at full size; `scale` divides the counts (quick mode: 20). */
export function scenarios(scale = 1): Scenario[] {
  const n = (full: number, min = 1): number => Math.max(min, Math.round(full / scale));
  const base = { transport: 'tcp', payload: 'small', connections: 1, clientProcesses: 1, latencies: false } as const;
  return [
    { ...base, id: 'S1 tcp', title: 'S1 small objects, client → server, TCP', workload: 'push', count: n(200_000), warm: n(20_000), window: 1000, unit: 'msgs/s', contenders: WITH_MSGPACK },
    { ...base, id: 'S1 unix', title: 'S1 small objects, client → server, Unix socket', workload: 'push', transport: 'unix', count: n(200_000), warm: n(20_000), window: 1000, unit: 'msgs/s', contenders: WITH_MSGPACK },
    { ...base, id: 'S2', title: 'S2 request/reply, 1 in flight', workload: 'rpc', count: n(20_000), warm: n(2_000), window: 1, latencies: true, unit: 'round trips/s', contenders: RPC },
    { ...base, id: 'S3', title: 'S3 request/reply, 64 in flight', workload: 'rpc', count: n(100_000), warm: n(10_000), window: 64, unit: 'req/s', contenders: RPC },
    // S4's warm-up is as long as its measured phase, not a tenth: 200 messages are only ~3,000 'data'
    // events, and V8 optimises a receive path after ~150 messages; with 20, that compile (~50 ms of CPU,
    // on V8's background thread but counted by cpuUsage) fell into the measured phase (docs/benchmarks.md).
    { ...base, id: 'S4', title: 'S4 1 MiB Buffers, client → server', workload: 'push', payload: 'buffer', count: n(200, 4), warm: n(200, 2), window: 8, unit: 'MB/s', contenders: ['hopwire', 'raw-net', 'raw-bytes', 'sockhop', 'zeromq', 'hopwire-msgpack'] },
    { ...base, id: 'S5', title: 'S5 sendAll to 16 connections in 2 processes', workload: 'broadcast', count: n(20_000), warm: n(2_000), window: 1000, connections: 8, clientProcesses: 2, unit: 'deliveries/s', contenders: STREAMERS },
    { ...base, id: 'S7 plain', title: 'S7 plain objects (same data as the Widget)', workload: 'push', payload: 'plain', count: n(200_000), warm: n(20_000), window: 1000, unit: 'msgs/s', contenders: ['hopwire', 'hopwire-msgpack'] },
    { ...base, id: 'S7 classes', title: 'S7 registered Widget with a Date and a Map', workload: 'push', payload: 'class', count: n(200_000), warm: n(20_000), window: 1000, unit: 'msgs/s', contenders: ['hopwire', 'hopwire-msgpack'] },
    // Not a target: the same Widget registered with toWire/fromWire hooks that send plain JSON (docs/types.md).
    { ...base, id: 'S7 hooks', title: 'S7 the Widget registered with plain-JSON toWire/fromWire hooks', workload: 'push', payload: 'hooked', count: n(200_000), warm: n(20_000), window: 1000, unit: 'msgs/s', contenders: ['hopwire', 'hopwire-msgpack'] },
  ];
}

/** The job of one contender in one scenario. */
export function jobOf(s: Scenario, contender: ContenderName): Job {
  return {
    scenario: s.id,
    contender,
    workload: s.workload,
    transport: s.transport,
    payload: s.payload,
    count: s.count,
    warm: s.warm,
    window: s.window,
    connections: s.connections,
    clientProcesses: s.clientProcesses,
    latencies: s.latencies,
  };
}
