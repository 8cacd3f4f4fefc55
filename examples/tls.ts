/**
 * Mutual TLS: both sides prove who they are with certificates.
 *
 * The certificates are made right here with the `openssl` command line, in
 * a temporary directory that is removed at the end: a CA, a server
 * certificate for 127.0.0.1 / localhost and a client certificate, both
 * signed by the CA. Then:
 *
 * - a client with its certificate connects and gets a reply;
 * - a client without a certificate is refused by the server;
 * - a client that does not trust the CA refuses the server.
 *
 * Run: npx tsx examples/tls.ts
 * (In your own project, import from 'hopwire' instead of '../src/index.js'.)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type ClientOptions, HopwireError, Server } from '../src/index.js';

/** Makes a CA and two certificates it signs (P-256 keys: quick to make). */
function makeCertificates(dir: string): Record<'ca' | 'serverKey' | 'serverCert' | 'clientKey' | 'clientCert', Buffer> {
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...key, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=hopwire example CA');
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'],
    ['client', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    writeFileSync(join(dir, `${name}.ext`), ext);
    ssl('req', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=hopwire example ${name}`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
  }
  const read = (file: string): Buffer => readFileSync(join(dir, file));
  return { ca: read('ca.crt'), serverKey: read('server.key'), serverCert: read('server.crt'), clientKey: read('client.key'), clientCert: read('client.crt') };
}

try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' });
} catch {
  console.log('[tls] the openssl command is not installed: skipped');
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'hopwire-tls-example-'));
try {
  const certs = makeCertificates(dir);
  console.log('[tls] made a CA, a server certificate and a client certificate with openssl');

  const server = new Server({
    port: 0,
    // requestCert + rejectUnauthorized + ca: only clients with a certificate signed by this CA get in
    tls: { key: certs.serverKey, cert: certs.serverCert, ca: certs.ca, requestCert: true, rejectUnauthorized: true },
  });
  server.on('connect', (session) => {
    console.log(`[server] a client with a valid certificate connected (session #${session.id})`);
  });
  server.handle((request) => ({ youSent: request, over: 'mutual TLS' }));
  const { port } = await server.listen();
  console.log(`[server] listening with TLS on port ${port}`);

  /** Connects, asks, closes; reports the outcome. */
  async function attempt(who: string, tls: NonNullable<ClientOptions['tls']>): Promise<void> {
    const client = new Client({ port, tls, reconnect: false });
    try {
      await client.connect();
      console.log(`[${who}] reply: ${JSON.stringify(await client.request({ hello: 'over TLS' }))}`);
    } catch (err) {
      const e = err as HopwireError;
      console.log(`[${who}] refused: ${e.code} ${e.message.split('\n')[0] ?? ''}`);
    } finally {
      await client.close();
    }
  }

  await attempt('client with certificate', { ca: certs.ca, key: certs.clientKey, cert: certs.clientCert });
  await attempt('client without certificate', { ca: certs.ca });
  await attempt('client not trusting the CA', { key: certs.clientKey, cert: certs.clientCert });

  await server.close();
  console.log(`[server] closed; TLS handshakes it refused: ${server.refusedConnections}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log('[done] temporary certificates removed');
