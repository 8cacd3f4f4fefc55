import { expect } from 'chai';
import { ErrorCode, HopwireError } from '../src/errors.js';
import { MAX_TYPE_NAME_BYTES } from '../src/frame.js';
import { TypeRegistry } from '../src/type-registry.js';
import type { Constructor, TypeOptions } from '../src/type-registry.js';

class Widget {
  size = 1;
}
class Order {
  id = 0;
}
class Invoice {
  total = 0;
}

/** Asserts `fn` throws a HopwireError with `code`. */
function expectCode(fn: () => unknown, code: ErrorCode): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'expected an error').to.be.instanceOf(HopwireError);
  expect((thrown as HopwireError).code).to.equal(code);
}

/** A class with no name of its own (not inferred from a binding). */
const anonymous = [
  class {
    x = 1;
  },
][0]!;

describe('TypeRegistry', () => {
  it('starts empty', () => {
    const registry = new TypeRegistry();
    expect(registry.names).to.deep.equal([]);
    expect(registry.byName('Widget')).to.equal(undefined);
    expect(registry.byPrototype(Widget.prototype)).to.equal(undefined);
    expect(registry.byPrototype(null)).to.equal(undefined);
  });

  it('register() names a class after itself and finds it by name and by prototype', () => {
    const registry = new TypeRegistry();
    expect(registry.register(Widget)).to.equal(registry);
    const entry = registry.byName('Widget');
    expect(entry).to.not.equal(undefined);
    expect(entry!.name).to.equal('Widget');
    expect(entry!.ctor).to.equal(Widget);
    expect(entry!.prototype).to.equal(Widget.prototype);
    expect(entry!.toWire).to.equal(undefined);
    expect(entry!.fromWire).to.equal(undefined);
    expect(registry.byPrototype(Widget.prototype)).to.equal(entry);
    expect(registry.byPrototype(Object.getPrototypeOf(new Widget()) as object)).to.equal(entry);
    expect(registry.names).to.deep.equal(['Widget']);
  });

  it('register() takes a custom name and hooks', () => {
    const toWire = (o: Order): unknown => o.id;
    const fromWire = (data: unknown): Order => Object.assign(new Order(), { id: data as number });
    const registry = new TypeRegistry().register(Order, { name: 'shop.Order', toWire, fromWire });
    expect(registry.byName('Order')).to.equal(undefined);
    const entry = registry.byName('shop.Order')!;
    expect(entry.ctor).to.equal(Order);
    expect(entry.toWire).to.equal(toWire);
    expect(entry.fromWire).to.equal(fromWire);
    expect(registry.byPrototype(Order.prototype)).to.equal(entry);
  });

  it('the prototype lookup is exact: a subclass is not its parent', () => {
    class Special extends Widget {}
    const registry = new TypeRegistry([Widget]);
    expect(registry.byPrototype(Special.prototype)).to.equal(undefined);
    expect(registry.byPrototype(Object.prototype)).to.equal(undefined);
  });

  it('the types constructor form takes classes and [class, options] tuples', () => {
    const fromWire = (): Invoice => new Invoice();
    const registry = new TypeRegistry([Widget, [Order, { name: 'shop.Order' }], [Invoice, { fromWire }]]);
    expect(registry.names).to.deep.equal(['Widget', 'shop.Order', 'Invoice']);
    expect(registry.byName('shop.Order')!.ctor).to.equal(Order);
    expect(registry.byName('Invoice')!.fromWire).to.equal(fromWire);
    expect(registry.byPrototype(Order.prototype)!.name).to.equal('shop.Order');
  });

  it('accepts any iterable of specs', () => {
    function* specs(): Generator<Constructor | readonly [Constructor, TypeOptions]> {
      yield Widget;
      yield [Order, { name: 'o' }];
    }
    expect(new TypeRegistry(specs()).names).to.deep.equal(['Widget', 'o']);
    expect(new TypeRegistry(new Set([Invoice])).names).to.deep.equal(['Invoice']);
  });

  it('a name taken by another class is ERR_REGISTRY', () => {
    const registry = new TypeRegistry([Widget]);
    expectCode(() => registry.register(Order, { name: 'Widget' }), ErrorCode.REGISTRY);
    {
      // A different class that happens to have the same name.
      class Widget {
        other = true;
      }
      expectCode(() => registry.register(Widget), ErrorCode.REGISTRY);
    }
    expect(registry.byName('Widget')!.ctor).to.not.equal(Order);
    expect(registry.byPrototype(Order.prototype)).to.equal(undefined);
    expectCode(() => new TypeRegistry([Widget, [Order, { name: 'Widget' }]]), ErrorCode.REGISTRY);
  });

  it('the same class under a second name is ERR_REGISTRY', () => {
    const registry = new TypeRegistry([Widget]);
    expectCode(() => registry.register(Widget, { name: 'Gadget' }), ErrorCode.REGISTRY);
    expect(registry.byName('Gadget')).to.equal(undefined);
    expect(registry.names).to.deep.equal(['Widget']);
  });

  it('the same class under the same name again is a no-op', () => {
    const registry = new TypeRegistry([Widget, [Order, { name: 'shop.Order' }]]);
    const widget = registry.byName('Widget');
    const order = registry.byName('shop.Order');
    expect(registry.register(Widget)).to.equal(registry);
    expect(() => registry.register(Widget, { name: 'Widget' })).to.not.throw();
    expect(() => registry.register(Order, { name: 'shop.Order' })).to.not.throw();
    expect(() => new TypeRegistry([Widget, Widget])).to.not.throw();
    expect(registry.byName('Widget')).to.equal(widget);
    expect(registry.byName('shop.Order')).to.equal(order);
    expect(registry.names).to.deep.equal(['Widget', 'shop.Order']);
  });

  it('an anonymous class without a name is ERR_REGISTRY; with a name it registers', () => {
    expect(anonymous.name).to.equal('');
    expectCode(() => new TypeRegistry().register(anonymous), ErrorCode.REGISTRY);
    expectCode(() => new TypeRegistry().register(Widget, { name: '' }), ErrorCode.REGISTRY);
    const registry = new TypeRegistry().register(anonymous, { name: 'Anon' });
    expect(registry.byName('Anon')!.ctor).to.equal(anonymous);
  });

  it('a non-class is ERR_REGISTRY', () => {
    const notClasses: unknown[] = [
      () => 1,
      async function f() {
        await Promise.resolve();
      },
      Math.max,
      Widget.bind(null),
      {},
      null,
      undefined,
      'Widget',
      42,
      Symbol('s'),
    ];
    for (const value of notClasses) {
      expectCode(() => new TypeRegistry().register(value as Constructor), ErrorCode.REGISTRY);
      expectCode(() => new TypeRegistry([value as Constructor]), ErrorCode.REGISTRY);
    }
  });

  it(`a name longer than ${MAX_TYPE_NAME_BYTES} UTF-8 bytes is ERR_REGISTRY`, () => {
    expect(MAX_TYPE_NAME_BYTES).to.equal(255);
    const registry = new TypeRegistry();
    expect(() => registry.register(Widget, { name: 'w'.repeat(255) })).to.not.throw();
    expectCode(() => registry.register(Order, { name: 'o'.repeat(256) }), ErrorCode.REGISTRY);
    // 128 two-byte characters: 128 characters, but 256 bytes.
    expectCode(() => registry.register(Order, { name: 'é'.repeat(128) }), ErrorCode.REGISTRY);
    expect(() => registry.register(Order, { name: 'é'.repeat(127) })).to.not.throw();
    expect(registry.names).to.have.length(2);
  });

  it('lookups never reach Object.prototype', () => {
    const registry = new TypeRegistry([Widget]);
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', 'Object', 'Function']) {
      expect(registry.byName(name), name).to.equal(undefined);
    }
    expect(registry.byPrototype(Object.prototype)).to.equal(undefined);
    expect(registry.byPrototype(Function.prototype)).to.equal(undefined);
  });

  it('names like __proto__ and constructor register and resolve like any other', () => {
    const registry = new TypeRegistry([
      [Widget, { name: '__proto__' }],
      [Order, { name: 'constructor' }],
    ]);
    expect(registry.byName('__proto__')!.ctor).to.equal(Widget);
    expect(registry.byName('constructor')!.ctor).to.equal(Order);
    expect(registry.byName('toString')).to.equal(undefined);
    expect(({} as Record<string, unknown>).ctor).to.equal(undefined);
  });
});
