/**
 * Debug output: `NODE_DEBUG=hopwire node app.js` prints what hopwire does.
 *
 * @module
 */
import { debuglog } from 'node:util';

/** Logs through `util.debuglog('hopwire')`; free when disabled. */
export const debug = debuglog('hopwire');
