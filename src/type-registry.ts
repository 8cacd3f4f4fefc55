/**
 * The type registry: which classes may be rebuilt on receipt, under which
 * wire names. Names resolve only through this registry, never through
 * globals, so a peer can never make the receiver instantiate a class it
 * did not register.
 *
 * @module
 */
import { ErrorCode, HopwireError } from './errors.js';
import { MAX_TYPE_NAME_BYTES } from './frame.js';

/**
 * A class that can be registered. Its constructor is never called by the
 * decoder unless a `fromWire` hook calls it.
 */
// The registry stores arbitrary user classes; their constructor parameters
// are unknowable here, and `never[]` would reject every real class.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Constructor<T = object> = abstract new (...args: any[]) => T;

/** How one class travels. */
export interface TypeOptions<T extends object = object> {
  /** Wire name. @default the class's `name` */
  name?: string;
  /**
   * Turns an instance into what goes on the wire (any encodable value).
   * @default the instance's own enumerable properties
   */
  toWire?(this: void, instance: T): unknown;
  /**
   * Rebuilds an instance from what `toWire` produced (already decoded).
   * @default an object with the class's prototype and the received
   * properties, built without calling the constructor
   */
  fromWire?(this: void, data: unknown): T;
}

/** A registered class, resolved. */
export interface TypeEntry {
  /** The wire name. */
  readonly name: string;
  /** The class. */
  readonly ctor: Constructor;
  /** The class's prototype, which received instances get. */
  readonly prototype: object;
  /** Custom encoder, if any. */
  readonly toWire: ((instance: object) => unknown) | undefined;
  /** Custom decoder, if any. */
  readonly fromWire: ((data: unknown) => object) | undefined;
}

/** What `types` options accept: a class, or a class with its options. */
export type TypeSpec = Constructor | readonly [Constructor, TypeOptions];

/**
 * Maps wire names to classes and back.
 *
 * @example
 * ```ts
 * const registry = new TypeRegistry([Widget]);
 * registry.register(Order, { name: 'shop.Order' });
 * ```
 */
export class TypeRegistry {
  readonly #byName = new Map<string, TypeEntry>();
  readonly #byPrototype = new Map<object, TypeEntry>();

  /** @param types - classes to register at once */
  constructor(types: Iterable<TypeSpec> = []) {
    for (const spec of types) {
      if (Array.isArray(spec)) {
        const [ctor, options] = spec as readonly [Constructor, TypeOptions];
        this.register(ctor, options);
      } else {
        this.register(spec as Constructor);
      }
    }
  }

  /**
   * Registers a class.
   *
   * @throws HopwireError `ERR_REGISTRY` when `ctor` is not a class, the name
   * is empty or too long, or the name or class is already registered
   * differently.
   */
  register<T extends object>(ctor: Constructor<T>, options: TypeOptions<T> = {}): this {
    if (typeof ctor !== 'function' || typeof ctor.prototype !== 'object') {
      throw new HopwireError(ErrorCode.REGISTRY, 'register() needs a class');
    }
    const prototype = ctor.prototype as object;
    const name = options.name ?? ctor.name;
    if (typeof name !== 'string' || name === '') {
      throw new HopwireError(ErrorCode.REGISTRY, 'an anonymous class needs a { name } to be registered');
    }
    if (name.startsWith('hopwire.')) {
      throw new HopwireError(ErrorCode.REGISTRY, `type names starting with "hopwire." are reserved ("${name.slice(0, 40)}")`);
    }
    if (Buffer.byteLength(name, 'utf8') > MAX_TYPE_NAME_BYTES) {
      throw new HopwireError(ErrorCode.REGISTRY, `type name "${name.slice(0, 40)}…" is longer than ${MAX_TYPE_NAME_BYTES} bytes`);
    }
    const byName = this.#byName.get(name);
    const byProto = this.#byPrototype.get(prototype);
    if (byName !== undefined && byName.ctor === ctor && options.toWire === undefined && options.fromWire === undefined) {
      return this; // the same class under the same name again: nothing to do
    }
    if (byName !== undefined) {
      throw new HopwireError(ErrorCode.REGISTRY, `type name "${name}" is already registered`);
    }
    if (byProto !== undefined) {
      throw new HopwireError(ErrorCode.REGISTRY, `class ${ctor.name} is already registered as "${byProto.name}"`);
    }
    const entry: TypeEntry = {
      name,
      ctor,
      prototype,
      toWire: options.toWire as ((instance: object) => unknown) | undefined,
      fromWire: options.fromWire,
    };
    this.#byName.set(name, entry);
    this.#byPrototype.set(prototype, entry);
    return this;
  }

  /** The entry for a wire name, if registered. */
  byName(name: string): TypeEntry | undefined {
    return this.#byName.get(name);
  }

  /** The entry for an object's exact prototype, if its class is registered. */
  byPrototype(prototype: object | null): TypeEntry | undefined {
    return prototype === null ? undefined : this.#byPrototype.get(prototype);
  }

  /** The registered names. */
  get names(): string[] {
    return [...this.#byName.keys()];
  }
}
