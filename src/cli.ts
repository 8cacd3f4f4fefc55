#!/usr/bin/env node
/**
 * The `hopwire` command line: a server that prints what it receives
 * (`listen`), one-shot `send` and `request`, `tail` for broadcasts, and a
 * quick `bench`. Run `hopwire --help` for the details.
 *
 * Conventions: data (received messages, replies, bench results) goes to
 * stdout; status (listening, connected, round-trip times) to stderr; an
 * error is one line `hopwire: CODE message` on stderr (with the stack only
 * under `--debug`). Exit codes: 0 ok, 1 runtime error, 2 usage error, 130 /
 * 143 interrupted by SIGINT / SIGTERM (for the commands that end by
 * themselves).
 *
 * This file is the entry point and the dispatch; each command, the help
 * texts, argument parsing and output live in `src/cli/`.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PROTOCOL_VERSION } from './index.js';
import { COMMON_SPEC, type Command, UsageError, usageFromParseArgs } from './cli/args.js';
import { bench } from './cli/bench.js';
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, SIGNAL_EXIT, interruptedBy } from './cli/exit.js';
import { HELP } from './cli/help.js';
import { listen } from './cli/listen.js';
import { out, reportError, status } from './cli/output.js';
import { request, send } from './cli/send.js';
import { stats } from './cli/stats.js';
import { tail } from './cli/tail.js';

/** The commands, by name. */
const COMMANDS: Record<string, Command> = { listen, send, request, tail, bench, stats };

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`${HELP.top ?? ''}\n`);
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = rest[0] !== undefined && rest[0] in COMMANDS ? rest[0] : 'top';
    out(HELP[topic] ?? '');
    return EXIT_OK;
  }
  if (name === '--version') {
    out(`hopwire ${version()} (protocol ${PROTOCOL_VERSION}, node ${process.version})`);
    return EXIT_OK;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    throw new UsageError(name.startsWith('-') ? `unknown option '${name}' (give a command first)` : `unknown command '${name}'`);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...command.options, ...COMMON_SPEC }, allowPositionals: command.positionals, strict: true });
  } catch (err) {
    throw usageFromParseArgs(err, name);
  }
  if (parsed.values.help === true) {
    out(HELP[name] ?? '');
    return EXIT_OK;
  }
  return command.run(parsed.values, parsed.positionals);
}

const argv = process.argv.slice(2);
const debugging = argv.includes('--debug');
main(argv).then(
  (code) => {
    const signal = interruptedBy();
    if (signal !== undefined) status(`interrupted (${signal})`);
    process.exitCode = signal === undefined ? code : (SIGNAL_EXIT[signal] ?? EXIT_RUNTIME);
  },
  (err: unknown) => {
    const signal = interruptedBy();
    if (signal !== undefined) {
      status(`interrupted (${signal})`);
      process.exitCode = SIGNAL_EXIT[signal] ?? EXIT_RUNTIME;
      return;
    }
    reportError(err, debugging);
    process.exitCode = err instanceof UsageError ? EXIT_USAGE : EXIT_RUNTIME;
  },
);
