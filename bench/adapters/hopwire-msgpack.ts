/**
 * The `hopwire-msgpack` contender: the hopwire adapter with
 * `codec: 'msgpack'` on both ends, so every payload is MessagePack
 * (see `docs/codecs.md`).
 */
import type { Adapter } from '../common.js';
import { hopwireAdapter } from './hopwire.js';

export const adapter: Adapter = hopwireAdapter('msgpack');
