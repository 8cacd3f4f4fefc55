/**
 * Loads the NATS client, `@nats-io/transport-node`: an optional peer
 * dependency, imported only when a server or client has the `nats` option.
 *
 * @module
 */
import type * as NatsModule from '@nats-io/transport-node';
import { ErrorCode, HopwireError, toError } from '../errors.js';

/** The NATS client module. */
export type Nats = typeof NatsModule;

/** The package the `nats` option needs. */
export const NATS_PACKAGE = '@nats-io/transport-node';

let loaded: Promise<Nats> | undefined;

/**
 * Imports the NATS client once per process.
 *
 * @param specifier - the module to import (tests name a missing one)
 * @throws HopwireError `ERR_MISSING_DEPENDENCY` naming the package to install when it is not installed
 */
export function loadNats(specifier = NATS_PACKAGE): Promise<Nats> {
  if (specifier !== NATS_PACKAGE) return importNats(specifier);
  loaded ??= importNats(specifier).catch((err: unknown) => {
    loaded = undefined; // installed later: try again
    throw err;
  });
  return loaded;
}

async function importNats(specifier: string): Promise<Nats> {
  try {
    return (await import(specifier)) as Nats;
  } catch (err) {
    const error = toError(err) as NodeJS.ErrnoException;
    if (error.code !== 'ERR_MODULE_NOT_FOUND' || !error.message.includes(specifier)) throw error;
    throw new HopwireError(
      ErrorCode.MISSING_DEPENDENCY,
      `the nats option needs the package ${specifier}, which is not installed: npm install ${specifier}`,
      { cause: error },
    );
  }
}
