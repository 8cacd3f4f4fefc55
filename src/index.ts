/**
 * hopwire: pass real objects between Node.js programs.
 *
 * @packageDocumentation
 */
export { ErrorCode, HopwireError, isHopwireError } from './errors.js';
export type { HopwireErrorDetails } from './errors.js';
