/**
 * A tiny HTTP endpoint serving a server's Prometheus metrics at `/metrics`
 * (`node:http`, no framework), loopback by default.
 *
 * @module
 */
import { once } from 'node:events';
import { type Server as HttpServer, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Serves `render()` at `path`; everything else is a 404. */
export class MetricsServer {
  readonly #http: HttpServer;

  /** @param render - produces the metrics text on each request */
  constructor(render: () => string, path = '/metrics') {
    this.#http = createServer((req, res) => {
      const url = (req.url ?? '').split('?')[0];
      if (req.method !== 'GET' || url !== path) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      let body: string;
      try {
        body = render();
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
    });
    this.#http.keepAliveTimeout = 1000;
  }

  /** Starts listening; resolves with the port. */
  async listen(port: number, host: string): Promise<{ host: string; port: number }> {
    this.#http.listen(port, host);
    await once(this.#http, 'listening');
    const a = this.#http.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** Stops serving and closes idle keep-alive connections. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#http.close(() => {
        resolve();
      });
      this.#http.closeAllConnections();
    });
  }
}
