import { expect } from 'chai';
import { OfflineQueue } from '../src/offline-queue.js';

interface Item {
  id: number;
  bytes: number;
}

describe('OfflineQueue', () => {
  it('keeps entries in order and drains them oldest first', () => {
    const q = new OfflineQueue<Item>({ maxMessages: 10, maxBytes: 1000 });
    for (let id = 1; id <= 5; id++) q.push({ id, bytes: 10 });
    expect(q.size).to.equal(5);
    expect(q.bytes).to.equal(50);
    expect(q.drain().map((i) => i.id)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(q.size).to.equal(0);
    expect(q.bytes).to.equal(0);
  });

  it('rejects the new entry with ERR_QUEUE_FULL past maxMessages, keeping the old ones', () => {
    const q = new OfflineQueue<Item>({ maxMessages: 2, maxBytes: 1000 });
    q.push({ id: 1, bytes: 1 });
    q.push({ id: 2, bytes: 1 });
    expect(() => {
      q.push({ id: 3, bytes: 1 });
    }).to.throw().with.property('code', 'ERR_QUEUE_FULL');
    expect(q.drain().map((i) => i.id)).to.deep.equal([1, 2]);
  });

  it('rejects past maxBytes; an entry that fits exactly is accepted', () => {
    const q = new OfflineQueue<Item>({ maxMessages: 100, maxBytes: 100 });
    q.push({ id: 1, bytes: 60 });
    expect(() => {
      q.push({ id: 2, bytes: 41 });
    }).to.throw().with.property('code', 'ERR_QUEUE_FULL');
    q.push({ id: 3, bytes: 40 });
    expect(q.bytes).to.equal(100);
    expect(q.drain().map((i) => i.id)).to.deep.equal([1, 3]);
  });

  it('remove() takes one entry out and frees its bytes', () => {
    const q = new OfflineQueue<Item>({ maxMessages: 10, maxBytes: 100 });
    const a = { id: 1, bytes: 50 };
    const b = { id: 2, bytes: 50 };
    q.push(a);
    q.push(b);
    expect(q.remove(a)).to.equal(true);
    expect(q.remove(a)).to.equal(false);
    expect(q.bytes).to.equal(50);
    q.push({ id: 3, bytes: 50 });
    expect(q.drain().map((i) => i.id)).to.deep.equal([2, 3]);
  });
});
