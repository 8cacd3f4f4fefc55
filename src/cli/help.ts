/**
 * The help texts of the `hopwire` command line: the overview
 * (`hopwire --help`) and one per command (`hopwire <command> --help`).
 *
 * @module
 */

const EXIT_CODES = `Exit codes:
  0     success
  1     runtime error: connection refused or lost, timeout, TLS or secret
        refused, remote error, no handler, unreadable file
  2     usage error: unknown command or option, bad value, invalid JSON
  130   interrupted by SIGINT (143: SIGTERM); listen and tail exit 0 instead`;

const CLIENT_OPTIONS = `Connection:
  --port N          TCP port of the server
  --path P          Unix socket path of the server (instead of --port)
  --host H          host of the server (default 127.0.0.1)
  --tls             use TLS, verifying the server with the system CAs
  --tls-ca F        use TLS, verifying the server with the CA in file F
  --tls-cert F      client certificate (PEM) for mutual TLS, with --tls-key
  --tls-key F       client private key (PEM), with --tls-cert
  --secret S        shared secret (default: $HOPWIRE_SECRET)
  --timeout MS      connect timeout, and request timeout (default 10000)`;

const COMMON = `  --debug           print stacks with errors
  -h, --help        this help`;

/** Help text of `hopwire stats`. */
const STATS_HELP = `Usage: hopwire stats --metrics-url URL [--json] [--interval MS] [--count N]

Shows a running server's figures: sessions, messages and bytes per second,
requests, errors. The server must serve its metrics over HTTP: start it with
the option  metrics: { port: 9464 }  and pass its URL here.

Options:
  --metrics-url URL  the server's metrics endpoint, e.g. http://127.0.0.1:9464/metrics
  --json             print one snapshot as JSON (metric name → value) and exit
  --interval MS      refresh interval of the table (default 1000)
  --count N          stop after N refreshes (default: until Ctrl-C)`;

/** Help texts by command name; `top` is the overview. */
export const HELP: Record<string, string> = {
  stats: STATS_HELP,
  top: `hopwire — pass objects between programs over TCP, TLS and Unix sockets

Usage: hopwire <command> [options]

Commands:
  listen    run a server that prints every message and request it receives
  send      send one message, or one per JSON line read from stdin
  request   send a request; print the reply and its round-trip time
  tail      print the server's broadcasts as they come, reconnecting on its own
  bench     quick throughput and latency check (its own server by default)
  stats     live figures of a running server, from its metrics endpoint

Run 'hopwire <command> --help' for a command's options.

Options:
  -h, --help        this help
  --version         print the version

Output: data (messages, replies, results) goes to stdout, status lines to
stderr, errors as one line 'hopwire: CODE message' on stderr. Color only
when the stream is a terminal and NO_COLOR is not set. NODE_DEBUG=hopwire
shows what the library does.

${EXIT_CODES}`,

  listen: `Usage: hopwire listen [--port N | --path P] [--host H]
                      [--tls-key F --tls-cert F [--tls-ca F]] [--secret S]
                      [--lines] [--echo | --reply JSON]

Runs a server and prints every message and request it receives (time,
kind, type name, sender, then the value as indented JSON) to stdout;
connects and disconnects go to stderr. Hopwire clients and JSON-lines peers
(nc, Python, ...) are told apart automatically. Ctrl-C or SIGTERM closes it
(exit 0).

Options:
  --port N          TCP port (default 0: a free port, printed at start)
  --path P          Unix socket path instead of TCP
  --host H          interface to listen on (default 127.0.0.1)
  --tls-key F       TLS private key (PEM), with --tls-cert
  --tls-cert F      TLS certificate (PEM), with --tls-key
  --tls-ca F        require client certificates signed by this CA (mutual TLS)
  --secret S        shared secret clients must prove (default: $HOPWIRE_SECRET)
  --lines           speak JSON lines only (no hopwire peers, no detection wait)
  --echo            answer each request with the request itself
  --reply JSON      answer each request with this JSON value
                    (with either, a JSON-lines peer gets the answer to each
                    of its lines; without them, requests are printed and
                    refused with ERR_NO_HANDLER)
${COMMON}

${EXIT_CODES}`,

  send: `Usage: hopwire send [connection options] [--ack] [--lines] <json | ->

Sends one message: the JSON argument, or with '-' one message per line of
stdin (blank lines skipped; the first invalid line stops with exit 2).
A JSON value starting with '-' goes after '--': hopwire send --port 7 -- -5

Options:
  --ack             wait until the server's message listeners have run
  --lines           speak JSON lines (to a server that is not hopwire)
${CLIENT_OPTIONS}
${COMMON}

${EXIT_CODES}`,

  request: `Usage: hopwire request [connection options] <json | ->

Sends a request and prints the reply to stdout as indented JSON, and the
round-trip time to stderr. With '-', one request per line of stdin, one
after another. A remote error is exit 1 with its message and remote code.

Options:
${CLIENT_OPTIONS}
${COMMON}

${EXIT_CODES}`,

  tail: `Usage: hopwire tail [connection options] [--count N] [--lines]

Connects and prints every message the server sends (broadcasts included)
to stdout. It waits for a server that is not up yet, and reconnects on its
own when the connection drops (status on stderr); every failure is retried
except a refused shared secret or protocol version (exit 1). Ctrl-C or
SIGTERM closes it (exit 0).

Options:
  --count N         exit after N messages
  --lines           speak JSON lines (to a server that is not hopwire)
${CLIENT_OPTIONS}
${COMMON}

${EXIT_CODES}`,

  bench: `Usage: hopwire bench [connection options] [--messages N] [--requests M]

Sends N small messages as fast as it can and measures the throughput up to
the server having received them (a request sent after them marks the end),
then M requests one after another and prints the round-trip p50 and p99.
Without --port or --path it starts its own server on port 0 in this process
(both ends then share one process). An outside server must answer requests
(hopwire listen --echo does, but prints every message, which is slow).

Options:
  --messages N      messages to send (default 20000)
  --requests M      requests to time (default 2000)
${CLIENT_OPTIONS}
${COMMON}

${EXIT_CODES}`,
};
