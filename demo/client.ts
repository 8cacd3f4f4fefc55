/**
 * A demo client process: `tsx demo/client.ts --name alice --port N` (or
 * `--path P`). Connects, reconnects on its own, sends and requests when told,
 * and prints what the server broadcasts.
 */
import { performance } from 'node:perf_hooks';
import { Client, type ClientMessageContext } from '../src/index.js';
import { type Command, describeError, log, parseTarget, report, serve, show } from './ipc.js';
import { Widget } from './widget.js';

const { target, name } = parseTarget();
const client = new Client({ ...target, types: [Widget], reconnect: { initial: 50, max: 500 } });

let connects = 0;
client.on('connect', () => {
  connects++;
  log(connects === 1 ? `connected` : `connected again (connect event #${connects})`);
  report({ type: 'connected', times: connects });
});

client.on('disconnect', (info) => {
  log(`disconnect: ${info.reason} (${info.message})`);
});

client.on('reconnecting', ({ attempt, delay }) => {
  log(`reconnecting: attempt ${attempt} in ${delay} ms`);
});

client.on('error', (err) => {
  log(`error event: ${describeError(err)}`);
});

function received(message: unknown, ctx: ClientMessageContext, via: string): void {
  const what = message instanceof Widget ? `${message.describe()}, instanceof Widget: true` : show(message);
  log(`got ${what} (ctx.type '${ctx.type}', via ${via})`);
  report({ type: 'received', ctxType: ctx.type });
}

// Two ways to receive: alice loops over messages(), everyone else listens to 'message'.
if (name === 'alice') {
  void (async () => {
    for await (const { message, ctx } of client.messages()) received(message, ctx, 'messages()');
    log('messages() loop ended');
  })();
} else {
  client.on('message', (message, ctx) => {
    received(message, ctx, "'message' event");
  });
}

async function run(command: Command): Promise<void> {
  switch (command.cmd) {
    case 'send-widget': {
      const widget = new Widget('bolt', 2, new Date('2024-05-01T12:00:00Z'), new Map([['steel', 3], ['brass', 1]]));
      await client.send(widget);
      log(`send(${widget.describe()}) resolved`);
      return;
    }
    case 'request': {
      const start = performance.now();
      const reply = await client.request({ op: 'sum', values: [1, 2, 3, 4] }, { timeout: 2000 });
      const ms = performance.now() - start;
      log(`request({ op: 'sum', values: [1, 2, 3, 4] }) → ${show(reply)} in ${ms.toFixed(2)} ms`);
      if (command.repeat === 0) return;
      const burst = performance.now();
      for (let i = 0; i < command.repeat; i++) await client.request({ op: 'echo', i }, { timeout: 2000 });
      const each = (performance.now() - burst) / command.repeat;
      log(`  ${command.repeat} more requests, one after the other: ${each.toFixed(3)} ms per round trip`);
      return;
    }
    case 'request-error': {
      const outcome = await client.request({ op: 'divide', by: 0 }, { timeout: 2000 }).then(
        (reply: unknown) => ({ reply }),
        (err: unknown) => ({ err }),
      );
      if (!('err' in outcome)) throw new Error(`the divide request should have failed, got ${show(outcome.reply)}`);
      const remoteCode = (outcome.err as { remoteCode?: unknown }).remoteCode;
      log(`request({ op: 'divide', by: 0 }) rejected: ${describeError(outcome.err)} (remoteCode ${String(remoteCode)})`);
      return;
    }
    case 'close':
      await client.close();
      log(`client.close() resolved (state: ${client.state})`);
      return;
    default:
      throw new Error(`a client does not do '${command.cmd}'`);
  }
}

serve(run, () => {
  void client.close().finally(() => process.exit(1));
});

await client.connect();
