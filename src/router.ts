/**
 * Who answers what: the catch-all request handler, handlers and message
 * listeners per type, and exposed objects called through proxies. One
 * `Router` per Server and per Client; `Session` uses its server's.
 *
 * A proxy call is a REQUEST whose frame type is {@link CALL_TYPE} and whose
 * payload is `{ m: method, a: args }`. Only own function properties of the
 * exposed object can be called: nothing on its prototype chain, never
 * `constructor`, `__proto__` or `toString`.
 *
 * @module
 */
import type { Codec, EncodedValue } from './codec.js';
import { NO_HANDLER } from './connection-types.js';
import { ErrorCode, HopwireError, toError } from './errors.js';
import type { Constructor } from './type-registry.js';
import type { RequestOptions } from './types.js';

/** The frame type name of a proxy call. Names starting with `hopwire.` are reserved. */
export const CALL_TYPE = 'hopwire.call';

/** A type to route on: a class (its registered name, or its class name) or a type name. */
export type RouteKey<T = unknown> = Constructor<T & object> | string;

/**
 * What a proxy of `T` offers: each method of `T`, returning a promise of its
 * result. Properties that are not functions are left out.
 */
export type Remote<T> = {
  readonly [K in keyof T as T[K] extends (...args: never[]) => unknown ? K : never]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};

/** What the router needs to know of a received value. */
export interface RouteMeta {
  readonly type: string;
  readonly known: boolean;
}

type Handler<C> = (request: unknown, ctx: C) => unknown;
type Listener<C> = (message: unknown, ctx: C) => void;

/** Handlers and listeners by type, plus the exposed object. */
export class Router<MC, RC> {
  readonly #codec: Codec;
  #catchAll: Handler<RC> | undefined;
  readonly #handlers = new Map<string, Handler<RC>>();
  readonly #listeners = new Map<string, Set<Listener<MC>>>();
  #exposed: object | undefined;

  /** @param codec - to resolve classes to their wire names */
  constructor(codec: Codec) {
    this.#codec = codec;
  }

  /** Sets (or with `undefined` removes) the catch-all request handler. */
  setCatchAll(handler: Handler<RC> | undefined): void {
    if (handler !== undefined && typeof handler !== 'function') {
      throw new HopwireError(ErrorCode.INVALID_OPTION, 'handle() needs a function');
    }
    this.#catchAll = handler;
  }

  /** Sets (or with `undefined` removes) the request handler for one type. */
  setHandler(key: RouteKey, handler: Handler<RC> | undefined): void {
    if (handler !== undefined && typeof handler !== 'function') {
      throw new HopwireError(ErrorCode.INVALID_OPTION, 'handle(type, fn) needs a function');
    }
    const name = this.nameOf(key);
    if (handler === undefined) this.#handlers.delete(name);
    else this.#handlers.set(name, handler);
  }

  /** Adds a message listener for one type; returns a function that removes it. */
  addListener(key: RouteKey, listener: Listener<MC>): () => void {
    if (typeof listener !== 'function') throw new HopwireError(ErrorCode.INVALID_OPTION, 'onMessage(type, fn) needs a function');
    const name = this.nameOf(key);
    let set = this.#listeners.get(name);
    if (set === undefined) this.#listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(name);
    };
  }

  /** Serves the own methods of `api` to proxies on the other side (`undefined` stops). */
  expose(api: object | undefined): void {
    if (api !== undefined && (typeof api !== 'object' || (api as unknown) === null) && typeof api !== 'function') {
      throw new HopwireError(ErrorCode.INVALID_OPTION, 'expose() needs an object');
    }
    this.#exposed = api;
  }

  /** Whether any typed listener exists (a fast check for the message path). */
  get hasListeners(): boolean {
    return this.#listeners.size > 0;
  }

  /** Calls the typed listeners of a message. */
  dispatchMessage(value: unknown, meta: RouteMeta, ctx: MC): void {
    const set = this.#listeners.get(meta.type);
    if (set === undefined) return;
    for (const listener of [...set]) listener(value, ctx);
  }

  /** Answers a request: a proxy call, a typed handler, the catch-all, or {@link NO_HANDLER}. */
  dispatchRequest(value: unknown, meta: RouteMeta, ctx: RC): unknown {
    if (meta.type === CALL_TYPE && !meta.known) return this.#call(value);
    const handler = (meta.type === '' ? undefined : this.#handlers.get(meta.type)) ?? this.#catchAll;
    return handler === undefined ? NO_HANDLER : handler(value, ctx);
  }

  /** The wire name a route key stands for. */
  nameOf(key: RouteKey): string {
    if (typeof key === 'string') {
      if (key === '') throw new HopwireError(ErrorCode.INVALID_OPTION, 'a type name cannot be empty');
      return key;
    }
    if (typeof key !== 'function') throw new HopwireError(ErrorCode.INVALID_OPTION, 'route by a class or a type name');
    return this.#codec.registry.byPrototype(key.prototype as object)?.name ?? key.name;
  }

  #call(value: unknown): unknown {
    const api = this.#exposed;
    if (api === undefined) return NO_HANDLER;
    const { m, a } = (typeof value === 'object' && value !== null ? value : {}) as { m?: unknown; a?: unknown };
    if (typeof m !== 'string' || !Array.isArray(a)) throw new HopwireError(ErrorCode.DECODE, 'malformed proxy call');
    const fn: unknown = Object.hasOwn(api, m) ? (api as Record<string, unknown>)[m] : undefined;
    if (typeof fn !== 'function') throw new HopwireError(ErrorCode.NO_METHOD, `no method "${m.slice(0, 100)}" is exposed`);
    return (fn as (...args: unknown[]) => unknown).apply(api, a);
  }
}

/**
 * A proxy whose methods call `send(encoded call)`. `then` is not a method,
 * so awaiting the proxy itself does not call anything.
 */
export function createProxy<T>(codec: Codec, request: (call: EncodedValue, options: RequestOptions) => Promise<unknown>, options: RequestOptions = {}): Remote<T> {
  const methods = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  return new Proxy(Object.create(null) as object, {
    get(_target, prop) {
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      let method = methods.get(prop);
      if (method === undefined) {
        method = (...args: unknown[]) => {
          let call: EncodedValue;
          try {
            call = { ...codec.encode({ m: prop, a: args }), type: CALL_TYPE };
          } catch (err) {
            return Promise.reject(toError(err));
          }
          return request(call, options);
        };
        methods.set(prop, method);
      }
      return method;
    },
  }) as Remote<T>;
}
