/**
 * Test certificates, made at test time with the openssl CLI (never committed):
 * a CA, a server certificate for localhost / 127.0.0.1 / ::1, a client
 * certificate, and a second, unrelated CA.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM material for the TLS tests. */
export interface TestCerts {
  ca: Buffer;
  serverKey: Buffer;
  serverCert: Buffer;
  clientKey: Buffer;
  clientCert: Buffer;
  otherCa: Buffer;
  otherClientKey: Buffer;
  otherClientCert: Buffer;
}

let cached: TestCerts | undefined;

/** True when the openssl CLI is available. */
export function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Makes (once per process) and returns the test certificates. */
export function testCerts(): TestCerts {
  if (cached !== undefined) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'hopwire-certs-'));
  try {
    const ssl = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    };
    const ca = (name: string): void => {
      ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`);
    };
    const leaf = (name: string, caName: string, ext: string): void => {
      writeFileSync(join(dir, `${name}.ext`), ext);
      ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
    };
    ca('test-ca');
    ca('other-ca');
    leaf('server', 'test-ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n');
    leaf('client', 'test-ca', 'extendedKeyUsage=clientAuth\n');
    leaf('other-client', 'other-ca', 'extendedKeyUsage=clientAuth\n');
    const read = (f: string): Buffer => readFileSync(join(dir, f));
    cached = {
      ca: read('test-ca.crt'),
      serverKey: read('server.key'),
      serverCert: read('server.crt'),
      clientKey: read('client.key'),
      clientCert: read('client.crt'),
      otherCa: read('other-ca.crt'),
      otherClientKey: read('other-client.key'),
      otherClientCert: read('other-client.crt'),
    };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
