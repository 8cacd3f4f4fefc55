/**
 * Statistics: the counters every connection keeps, the shapes that
 * `stats()` returns, and the Prometheus text exposition of a server's
 * figures. Pure: counting is a field increment; formatting is string work.
 *
 * @module
 */
import type { DisconnectReason, Protocol } from './types.js';

/** What one connection counts. Plain numbers, incremented in place. */
export interface ConnectionCounters {
  /** Messages received and handed to listeners. */
  messagesIn: number;
  /** Messages sent (plain, acknowledged and broadcast). */
  messagesOut: number;
  /** Bytes read from the socket. */
  bytesIn: number;
  /** Bytes written to the socket. */
  bytesOut: number;
  /** Requests sent. */
  requestsSent: number;
  /** Requests sent that got a reply. */
  requestsAnswered: number;
  /** Requests sent that timed out. */
  requestsTimedOut: number;
  /** Requests sent whose handler failed on the peer (ERR_REMOTE, ERR_NO_HANDLER). */
  requestsFailed: number;
  /** Requests received and answered by this side's handler (with a reply or an error). */
  requestsHandled: number;
  /** Pings the peer left unanswered when it was dropped. */
  pingsMissed: number;
  /** Payloads or lines that did not decode. */
  decodeErrors: number;
}

/** Fresh, zeroed counters. */
export function newCounters(): ConnectionCounters {
  return {
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    requestsSent: 0,
    requestsAnswered: 0,
    requestsTimedOut: 0,
    requestsFailed: 0,
    requestsHandled: 0,
    pingsMissed: 0,
    decodeErrors: 0,
  };
}

/** Adds `from` into `into`. */
export function addCounters(into: ConnectionCounters, from: Readonly<ConnectionCounters>): void {
  for (const key of Object.keys(into) as (keyof ConnectionCounters)[]) into[key] += from[key];
}

/** What `session.stats()` returns. */
export interface SessionStats extends ConnectionCounters {
  /** The session id. */
  readonly id: number;
  /** The peer's address and port (TCP), or `'unix'`. */
  readonly peer: string;
  /** The framing, once known. */
  readonly protocol: Protocol | undefined;
  /** The client identity from the hello, if any. */
  readonly clientId: string | undefined;
  /** Milliseconds since the socket was accepted. */
  readonly ageMs: number;
  /** Milliseconds since the last byte was received. */
  readonly idleMs: number;
  /** Requests sent to this peer waiting for a reply. */
  readonly pendingRequests: number;
  /** Bytes waiting in the write buffer. */
  readonly bufferedBytes: number;
  /** Broadcasts skipped by the `'drop'` slow-consumer policy. */
  readonly droppedMessages: number;
}

/** What `server.stats()` returns. */
export interface ServerStats extends ConnectionCounters {
  /** Milliseconds since `listen()`. */
  readonly uptimeMs: number;
  /** Sessions now (ready ones). */
  readonly connections: number;
  /** Sessions now, by framing. */
  readonly connectionsByProtocol: Readonly<Record<Protocol, number>>;
  /** Sessions ever accepted. */
  readonly connectionsTotal: number;
  /** Connections refused at accept (allow-list, maxConnections, TLS). */
  readonly connectionsRefused: number;
  /** Sessions that ended, by reason. */
  readonly disconnects: Readonly<Record<DisconnectReason, number>>;
  /** Requests sent to peers waiting for a reply, over all sessions. */
  readonly pendingRequests: number;
  /** Bytes waiting in write buffers, over all sessions. */
  readonly bufferedBytes: number;
  /** Broadcasts skipped by the `'drop'` slow-consumer policy, over all sessions. */
  readonly droppedMessages: number;
  /** Acknowledged messages dropped as duplicates. */
  readonly duplicatesDropped: number;
  /** Per-session figures. */
  readonly sessions: readonly SessionStats[];
}

/** What `client.stats()` returns: counters over all its connections so far. */
export interface ClientStats extends ConnectionCounters {
  /** The client's state. */
  readonly state: string;
  /** Successful connects after the first. */
  readonly reconnects: number;
  /** Messages and requests in the offline queue. */
  readonly queued: number;
  /** Acknowledged-delivery messages waiting for their ACK. */
  readonly unacknowledged: number;
  /** Requests waiting for a reply on the current connection. */
  readonly pendingRequests: number;
  /** Bytes waiting in the current connection's write buffer. */
  readonly bufferedBytes: number;
  /** Milliseconds since the current connection's hello, or 0. */
  readonly connectedMs: number;
}

/** Every disconnect reason, zeroed. */
export function newDisconnects(): Record<DisconnectReason, number> {
  return { closed: 0, 'remote-closed': 0, 'ping-timeout': 0, 'handshake-timeout': 0, 'protocol-error': 0, 'socket-error': 0, 'slow-consumer': 0, idle: 0 };
}

interface Metric {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: [labels: string, value: number][];
}

/** The server's figures in the Prometheus text exposition format (version 0.0.4). */
export function prometheusText(stats: ServerStats): string {
  const counter = (name: string, help: string, value: number): Metric => ({ name, help, type: 'counter', samples: [['', value]] });
  const gauge = (name: string, help: string, value: number): Metric => ({ name, help, type: 'gauge', samples: [['', value]] });
  const metrics: Metric[] = [
    gauge('hopwire_uptime_seconds', 'Seconds since the server started listening.', stats.uptimeMs / 1000),
    {
      name: 'hopwire_connections',
      help: 'Sessions now, by framing.',
      type: 'gauge',
      samples: Object.entries(stats.connectionsByProtocol).map(([p, n]) => [`protocol="${p}"`, n]),
    },
    counter('hopwire_connections_total', 'Sessions accepted.', stats.connectionsTotal),
    counter('hopwire_connections_refused_total', 'Connections refused at accept (allow-list, maxConnections, TLS).', stats.connectionsRefused),
    {
      name: 'hopwire_disconnects_total',
      help: 'Sessions ended, by reason.',
      type: 'counter',
      samples: Object.entries(stats.disconnects).map(([r, n]) => [`reason="${r}"`, n]),
    },
    counter('hopwire_messages_received_total', 'Messages received.', stats.messagesIn),
    counter('hopwire_messages_sent_total', 'Messages sent.', stats.messagesOut),
    counter('hopwire_received_bytes_total', 'Bytes read from sockets.', stats.bytesIn),
    counter('hopwire_sent_bytes_total', 'Bytes written to sockets.', stats.bytesOut),
    counter('hopwire_requests_sent_total', 'Requests sent to peers.', stats.requestsSent),
    counter('hopwire_requests_answered_total', 'Requests sent that got a reply.', stats.requestsAnswered),
    counter('hopwire_requests_timed_out_total', 'Requests sent that timed out.', stats.requestsTimedOut),
    counter('hopwire_requests_failed_total', 'Requests sent whose remote handler failed.', stats.requestsFailed),
    counter('hopwire_requests_handled_total', 'Requests received and answered.', stats.requestsHandled),
    gauge('hopwire_pending_requests', 'Requests waiting for a reply.', stats.pendingRequests),
    gauge('hopwire_write_buffer_bytes', 'Bytes waiting in write buffers.', stats.bufferedBytes),
    counter('hopwire_pings_missed_total', 'Pings unanswered by peers that were dropped.', stats.pingsMissed),
    counter('hopwire_decode_errors_total', 'Payloads or lines that did not decode.', stats.decodeErrors),
    counter('hopwire_slow_consumer_dropped_total', 'Broadcasts skipped for slow sessions.', stats.droppedMessages),
    counter('hopwire_duplicates_dropped_total', 'Acknowledged messages dropped as duplicates.', stats.duplicatesDropped),
  ];
  const lines: string[] = [];
  for (const m of metrics) {
    lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
    for (const [labels, value] of m.samples) lines.push(`${m.name}${labels === '' ? '' : `{${labels}}`} ${formatNumber(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(3);
}
