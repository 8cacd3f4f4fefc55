/**
 * The demo's server process: `tsx demo/server.ts --port N` (or `--path P`).
 * Rebuilds Widgets, answers requests, echoes JSON lines, broadcasts when told.
 */
import { Server, type ServerMessageContext } from '../src/index.js';
import { type Command, log, parseTarget, report, serve, show } from './ipc.js';
import { Widget } from './widget.js';

const { target } = parseTarget();
const server = new Server({ ...target, types: [Widget] });

server.on('connect', (session) => {
  const from = session.remoteAddress === undefined ? 'the Unix socket' : `${session.remoteAddress}:${String(session.remotePort)}`;
  log(`session #${session.id} connected from ${from} (${session.protocol ?? '?'})`);
});

server.on('disconnect', (session, info) => {
  log(`session #${session.id} disconnected: ${info.reason}`);
  report({ type: 'session-closed', id: session.id });
});

server.on('error', (err) => {
  log(`error event: ${err.message}`);
});

server.on('message', (message, ctx) => {
  if (message instanceof Widget) onWidget(message, ctx);
  else if (ctx.protocol === 'lines') void onLine(message, ctx);
  else log(`session #${ctx.session.id} sent ${show(message)} (type '${ctx.type}')`);
});

function onWidget(widget: Widget, ctx: ServerMessageContext): void {
  log(`session #${ctx.session.id} sent a ${ctx.type}: ${widget.describe()}`);
  log(`  instanceof Widget: ${widget instanceof Widget}`);
  log(`  made instanceof Date: ${widget.made instanceof Date}, parts instanceof Map: ${widget.parts instanceof Map}`);
  log(`  widget.total(5) = ${widget.total(5)}`);
  report({ type: 'widget-received' });
}

async function onLine(message: unknown, ctx: ServerMessageContext): Promise<void> {
  log(`session #${ctx.session.id} sent a JSON line: ${show(message)} (protocol '${ctx.protocol}')`);
  try {
    await ctx.reply({ ok: true, echo: message, from: 'hopwire server', pid: process.pid });
    log(`  answered it with ctx.reply(…)`);
  } catch (err) {
    report({ type: 'failed', error: `ctx.reply: ${String(err)}` });
    return;
  }
  report({ type: 'line-received' });
}

server.handle((request, ctx) => {
  const r = request as { op?: unknown; values?: unknown; by?: unknown };
  if (r.op === 'sum' && Array.isArray(r.values)) {
    const sum = r.values.reduce((a: number, b: unknown) => a + Number(b), 0);
    log(`session #${ctx.session.id} asked ${show(request)} → ${sum}`);
    return { sum, pid: process.pid };
  }
  if (r.op === 'echo') return request; // not logged: the client times a burst of these
  if (r.op === 'divide' && r.by === 0) {
    log(`session #${ctx.session.id} asked ${show(request)} → throwing`);
    throw Object.assign(new Error('cannot divide by zero'), { code: 'E_DIV_ZERO' });
  }
  throw new Error(`unknown request ${show(request)}`);
});

async function run(command: Command): Promise<void> {
  switch (command.cmd) {
    case 'broadcast': {
      const value =
        command.kind === 'widget'
          ? new Widget('nut', 0.25, new Date('2024-06-01T00:00:00Z'), new Map([['brass', 1]]))
          : { news: 'the server restarts soon', at: new Date().toISOString() };
      log(`sendAll(${value instanceof Widget ? value.describe() : show(value)})`);
      const n = await server.sendAll(value);
      log(`  sendAll resolved: written to ${n} sessions`);
      return;
    }
    case 'close':
      await server.close();
      log('server.close() resolved');
      return;
    default:
      throw new Error(`the server does not do '${command.cmd}'`);
  }
}

serve(run, () => {
  void server.close().finally(() => process.exit(1));
});

const address = await server.listen();
log(`listening on ${'path' in address ? address.path : `${address.host}:${String(address.port)}`} (pid ${process.pid})`);
report({ type: 'listening', address, pid: process.pid });
