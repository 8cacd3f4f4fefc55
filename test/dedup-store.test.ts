import { expect } from 'chai';
import { DedupStore } from '../src/dedup-store.js';

describe('DedupStore', () => {
  it('delivers increasing sequence numbers and refuses repeats', () => {
    const d = new DedupStore({ maxClients: 10, ttl: 1000 });
    expect(d.accept('a', 1, 0)).to.equal(true);
    expect(d.accept('a', 2, 0)).to.equal(true);
    expect(d.accept('a', 2, 0)).to.equal(false);
    expect(d.accept('a', 1, 0)).to.equal(false);
    expect(d.accept('a', 3, 0)).to.equal(true);
  });

  it('keeps clients apart', () => {
    const d = new DedupStore({ maxClients: 10, ttl: 1000 });
    expect(d.accept('a', 5, 0)).to.equal(true);
    expect(d.accept('b', 1, 0)).to.equal(true);
    expect(d.accept('b', 5, 0)).to.equal(true);
    expect(d.accept('a', 5, 0)).to.equal(false);
  });

  it('forgets clients not seen for ttl', () => {
    const d = new DedupStore({ maxClients: 10, ttl: 1000 });
    d.accept('a', 5, 0);
    d.accept('b', 1, 900);
    expect(d.accept('a', 5, 1000)).to.equal(false); // seen 1000 ms ago: still remembered
    d.accept('c', 1, 2500); // a (seen at 1000) and b (900) are now older than ttl
    expect(d.size).to.equal(1);
    expect(d.accept('a', 5, 2500)).to.equal(true); // forgotten: at-least-once from here
  });

  it('holds at most maxClients, dropping the least recently seen', () => {
    const d = new DedupStore({ maxClients: 3, ttl: 1e9 });
    d.accept('a', 1, 0);
    d.accept('b', 1, 1);
    d.accept('c', 1, 2);
    d.accept('a', 2, 3); // a is now the most recent
    d.accept('d', 1, 4); // evicts b
    expect(d.size).to.equal(3);
    expect(d.accept('a', 2, 5)).to.equal(false);
    expect(d.accept('c', 1, 6)).to.equal(false);
    expect(d.accept('b', 1, 7)).to.equal(true);
  });
});

describe('DedupStore: sequence numbers wrap', () => {
  it('counts 0xFFFFFFFF → 1 as newer (serial-number order), and old numbers as duplicates', () => {
    const d = new DedupStore({ maxClients: 10, ttl: 1000 });
    expect(d.accept('a', 0xffff_fffe, 0)).to.equal(true);
    expect(d.accept('a', 0xffff_ffff, 0)).to.equal(true);
    expect(d.accept('a', 1, 0)).to.equal(true);
    expect(d.accept('a', 2, 0)).to.equal(true);
    expect(d.accept('a', 0xffff_ffff, 0)).to.equal(false);
    expect(d.accept('a', 2, 0)).to.equal(false);
  });
});
