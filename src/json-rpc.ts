/**
 * JSON-RPC 2.0 over JSON lines, for peers that are not hopwire (the
 * `jsonRpc` option): the explicit convention by which a raw client — `nc`, a
 * Python script — makes requests. Nothing is guessed from other lines.
 *
 * - `{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}` is a request:
 *   the handler for type `add` (or the catch-all) gets `params`, and its
 *   return value goes back as `{"jsonrpc":"2.0","result":…,"id":1}`; a throw
 *   as `{"jsonrpc":"2.0","error":{"code":-32000,"message":…,"data":{"code":…}},"id":1}`.
 * - Without `id` it is a notification: a `message` event with `ctx.type`
 *   set to the method and `params` as the message.
 * - `{"jsonrpc":"2.0","result"|"error":…,"id":n}` answers one of this side's
 *   requests (a `protocol: 'lines'` client calling `request({ method, params })`).
 * - Any other line is an ordinary message.
 *
 * @module
 */
import { ErrorCode, HopwireError, toError } from './errors.js';
import type { SockhopChannel } from './sockhop-peer.js';
import type { RequestOptions } from './types.js';

/** JSON-RPC error codes hopwire sends. */
export const JsonRpcError = {
  PARSE: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  SERVER: -32000,
} as const;

/** The JSON-RPC side of one lines connection. */
export class JsonRpcPeer {
  readonly #channel: SockhopChannel;

  /** @param channel - the connection's side (the same shape the sockhop dialect uses) */
  constructor(channel: SockhopChannel) {
    this.#channel = channel;
  }

  /** The line that answers an unparsable one. */
  static parseError(message: string): object {
    return { jsonrpc: '2.0', error: { code: JsonRpcError.PARSE, message: `Parse error: ${message}` }, id: null };
  }

  /**
   * Sends `{ method, params }` as a JSON-RPC request and resolves with its
   * `result` (rejects with `ERR_REMOTE` for an `error`).
   */
  request(value: unknown, options: RequestOptions = {}): Promise<unknown> {
    const { method, params } = (typeof value === 'object' && value !== null ? value : {}) as { method?: unknown; params?: unknown };
    if (typeof method !== 'string') {
      return Promise.reject(new HopwireError(ErrorCode.ENCODE, 'a JSON-RPC request is { method: string, params? }'));
    }
    let entry: { id: number; promise: Promise<unknown> };
    try {
      entry = this.#channel.pending.add(options.timeout ?? this.#channel.requestTimeout, options.signal);
    } catch (err) {
      return Promise.reject(toError(err));
    }
    const line = params === undefined ? { jsonrpc: '2.0', method, id: entry.id } : { jsonrpc: '2.0', method, params: this.#channel.codec.toPlain(params).data, id: entry.id };
    this.#channel.writeLine(line).catch((err: unknown) => this.#channel.pending.reject(entry.id, toError(err)));
    return entry.promise;
  }

  /** Handles one parsed line; returns false when it is not JSON-RPC (an ordinary message). */
  receive(line: unknown): boolean {
    if (typeof line !== 'object' || line === null || Array.isArray(line)) return false;
    const o = line as Record<string, unknown>;
    if (o.jsonrpc !== '2.0') return false;
    if (typeof o.method === 'string') {
      if (Object.hasOwn(o, 'id')) this.#onRequest(o.method, o.params, o.id);
      else this.#channel.deliver(o.params, o.method, false, (reply) => this.#channel.writeLine({ jsonrpc: '2.0', method: o.method, params: this.#plain(reply) }));
      return true;
    }
    if (typeof o.id === 'number' && (Object.hasOwn(o, 'result') || Object.hasOwn(o, 'error'))) {
      this.#onResponse(o.id, o);
      return true;
    }
    void this.#channel.writeLine({ jsonrpc: '2.0', error: { code: JsonRpcError.INVALID_REQUEST, message: 'Invalid Request' }, id: validId(o.id) }).catch(() => undefined);
    return true;
  }

  #onRequest(method: string, params: unknown, rawId: unknown): void {
    const id = validId(rawId);
    const handled = this.#channel.handle(params, method, false);
    if (handled === undefined) {
      void this.#channel.writeLine({ jsonrpc: '2.0', error: { code: JsonRpcError.METHOD_NOT_FOUND, message: `Method not found: ${method.slice(0, 100)}` }, id }).catch(() => undefined);
      return;
    }
    Promise.resolve(handled.result)
      .then(
        (result) => this.#channel.writeLine({ jsonrpc: '2.0', result: this.#plain(result) ?? null, id }),
        (err: unknown) => {
          const code = (err as { code?: unknown } | null)?.code;
          const message = err instanceof Error ? err.message : String(err);
          return this.#channel.writeLine({
            jsonrpc: '2.0',
            error: { code: JsonRpcError.SERVER, message, ...(typeof code === 'string' ? { data: { code } } : {}) },
            id,
          });
        },
      )
      .catch(() => undefined);
  }

  #onResponse(id: number, o: Record<string, unknown>): void {
    if (!Object.hasOwn(o, 'error')) {
      this.#channel.pending.resolve(id, o.result);
      return;
    }
    const e = (typeof o.error === 'object' && o.error !== null ? o.error : {}) as { message?: unknown; code?: unknown };
    const message = typeof e.message === 'string' ? e.message : 'JSON-RPC error';
    const remote = typeof e.code === 'number' || typeof e.code === 'string' ? { remoteCode: String(e.code) } : {};
    this.#channel.pending.reject(id, new HopwireError(ErrorCode.REMOTE, message, remote));
  }

  #plain(value: unknown): unknown {
    return this.#channel.codec.toPlain(value).data;
  }
}

/** A JSON-RPC id as it may be echoed: a string, a number, or null. */
function validId(id: unknown): string | number | null {
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}
