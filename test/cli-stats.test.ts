import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { Client } from '../src/index.js';
import { parsePrometheus, renderTable } from '../src/cli/stats.js';
import { closeAll, defer, startServer } from './support/net.js';

const CLI = join(import.meta.dirname, '..', 'src', 'cli.ts');

async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

describe('hopwire stats', () => {
  afterEach(closeAll);

  it('parses the exposition format and renders rates', () => {
    const a = parsePrometheus('# HELP x y\nhopwire_messages_received_total 10\nhopwire_connections{protocol="binary"} 2\n');
    const b = parsePrometheus('hopwire_messages_received_total 30\nhopwire_connections{protocol="binary"} 3\n');
    expect(a).to.deep.equal({ hopwire_messages_received_total: 10, 'hopwire_connections{protocol="binary"}': 2 });
    const table = renderTable(b, a, 2);
    expect(table).to.match(/messages in\s+30\s+10\.0/);
    expect(table).to.match(/sessions \(binary\)\s+3/);
  });

  it('--json prints one snapshot of a running server', async function () {
    this.timeout(20_000);
    const { server, port } = await startServer({ metrics: { port: 0 } });
    const client = new Client({ port });
    defer(() => client.close());
    await client.connect();
    const got = once(server, 'message');
    await client.send({ hi: 1 });
    await got;
    const url = `http://127.0.0.1:${String(server.metricsAddress?.port)}/metrics`;
    const { code, stdout } = await runCli(['stats', '--metrics-url', url, '--json']);
    expect(code).to.equal(0);
    const snapshot = JSON.parse(stdout) as Record<string, number>;
    expect(snapshot.hopwire_messages_received_total).to.equal(1);
    expect(snapshot['hopwire_connections{protocol="binary"}']).to.equal(1);
    const table = await runCli(['stats', '--metrics-url', url, '--count', '2', '--interval', '50']);
    expect(table.code).to.equal(0);
    expect(table.stdout).to.match(/messages in\s+1\s+0\.0/);
  });

  it('exits 2 without --metrics-url and 1 when nothing answers', async function () {
    this.timeout(20_000);
    expect((await runCli(['stats'])).code).to.equal(2);
    const { server } = await startServer({ metrics: { port: 0 } });
    const port = server.metricsAddress?.port ?? 0;
    await server.close();
    const refused = await runCli(['stats', '--metrics-url', `http://127.0.0.1:${String(port)}/metrics`, '--json']);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/^hopwire: /);
  });
});
