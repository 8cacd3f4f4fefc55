import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeAll, startServer } from './support/net.js';

/** A Python 3 program speaking JSON lines to a hopwire server, as a user would write it. */
const PYTHON_CLIENT = `
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rw", encoding="utf-8", newline="\\n")
f.write(json.dumps({"op": "add", "a": 2, "b": 3}) + "\\n"); f.flush()
reply = json.loads(f.readline())
print("reply", json.dumps(reply, sort_keys=True))
f.write("not json\\n"); f.flush()
err = json.loads(f.readline())
print("error", err["code"])
f.write(json.dumps({"op": "news"}) + "\\n"); f.flush()
news = json.loads(f.readline())
print("broadcast", json.dumps(news, sort_keys=True))
s.close()
`;

function havePython(): boolean {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('a Python 3 client over JSON lines', () => {
  afterEach(closeAll);

  it('exchanges lines with a hopwire server: reply, error line, broadcast', async function () {
    if (!havePython()) {
      console.log('    (python3 is not installed: skipped)');
      this.skip();
    }
    this.timeout(20_000);
    const { server, port } = await startServer();
    server.on('message', (m, ctx) => {
      const { op, a, b } = m as { op: string; a: number; b: number };
      if (op === 'add') void ctx.reply({ sum: a + b });
      else void server.sendAll({ news: 'hello from hopwire' });
    });
    const child = spawn('python3', ['-c', PYTHON_CLIENT, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).to.equal(0);
    expect(out.trim().split('\n')).to.deep.equal(['reply {"sum": 5}', 'error ERR_DECODE', 'broadcast {"news": "hello from hopwire"}']);
  });
});
