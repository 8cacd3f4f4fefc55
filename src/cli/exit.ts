/**
 * Exit codes of the `hopwire` command line, and how SIGINT / SIGTERM end a
 * command: the commands that run until stopped (`listen`, `tail`, `stats`)
 * close and exit 0; the ones that end by themselves (`send`, `request`,
 * `bench`) are interrupted and exit 130 / 143.
 *
 * @module
 */

/** Success. */
export const EXIT_OK = 0;
/** A runtime error: connection refused or lost, timeout, remote error, … */
export const EXIT_RUNTIME = 1;
/** A usage error: unknown command or option, bad value, invalid JSON. */
export const EXIT_USAGE = 2;
/** The exit code of a command interrupted by a signal, by signal name. */
export const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** Set when SIGINT or SIGTERM interrupted a command that ends by itself. */
let interrupted: string | undefined;

/** The signal that interrupted a command that ends by itself, if one did. */
export function interruptedBy(): string | undefined {
  return interrupted;
}

/** Calls `stop` on the first SIGINT / SIGTERM; a second one exits at once. Returns the remover. */
export function onSignals(stop: (signal: string) => void): () => void {
  let seen = 0;
  const handler = (signal: NodeJS.Signals): void => {
    seen++;
    if (seen > 1) process.exit(SIGNAL_EXIT[signal] ?? EXIT_RUNTIME);
    stop(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** Aborted when SIGINT or SIGTERM interrupts a command that ends by itself. */
export const interruption = new AbortController();

/** Interrupting a command that ends by itself: close what it opened and exit 130 / 143. */
export function interruptible(close: () => Promise<unknown>): () => void {
  return onSignals((signal) => {
    interrupted = signal;
    interruption.abort();
    void close();
  });
}
