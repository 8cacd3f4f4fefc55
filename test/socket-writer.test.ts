/**
 * The socket writer on a real socket pair: frames encoded into the shared
 * chunk and parts written as they are leave in the order they were written,
 * byte for byte, across chunk boundaries, big payloads and ticks.
 */
import { once } from 'node:events';
import { type Socket, createServer, connect } from 'node:net';
import { expect } from 'chai';
import { FrameDecoder } from '../src/frame-decoder.js';
import { Codec } from '../src/codec.js';
import { FrameFlags, FrameKind, encodeFrameToBuffer } from '../src/frame.js';
import { SocketWriter } from '../src/socket-writer.js';

/** A connected socket pair; the reader's bytes are collected until it ends. */
async function pair(): Promise<{ writer: Socket; received: Promise<Buffer>; close: () => Promise<void> }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const writer = connect(address.port, '127.0.0.1');
  await once(writer, 'connect');
  const [reader] = await accepted;
  const chunks: Buffer[] = [];
  reader.on('data', (c: Buffer) => chunks.push(c));
  const received = once(reader, 'end').then(() => Buffer.concat(chunks));
  return {
    writer,
    received,
    close: async () => {
      reader.destroy();
      writer.destroy();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}

const codec = new Codec();

describe('SocketWriter', () => {
  it('keeps frames and parts in write order, across chunks, big payloads and ticks', async () => {
    const { writer, received, close } = await pair();
    try {
      const counters = { bytesOut: 0 };
      const out = new SocketWriter(writer, counters);
      const expected: Buffer[] = [];
      const frame = (i: number, payload: string | Buffer, type = ''): void => {
        void out.writeFrame(FrameKind.MESSAGE, 0, i, type, payload);
        expected.push(encodeFrameToBuffer({ kind: FrameKind.MESSAGE, id: i, type, payload }));
      };
      const part = (i: number): void => {
        const b = encodeFrameToBuffer({ kind: FrameKind.REPLY, id: i, payload: `${i}` });
        void out.write([b]);
        expected.push(b);
      };
      // Tick 1: enough small frames to fill several 64 KiB chunks, with parts in between,
      // multi-byte UTF-8 (worst case 3 bytes per code unit), and a payload bigger than a chunk.
      for (let i = 1; i <= 3000; i++) {
        frame(i, JSON.stringify({ i, s: i % 3 === 0 ? 'é€😀'.repeat(10) : 'ascii text' }), i % 5 === 0 ? 'Wídget' : '');
        if (i % 500 === 0) part(i);
        if (i === 1500) frame(i, JSON.stringify({ big: 'ü'.repeat(100_000) }));
        // bytes payloads (MessagePack) go into the same chunks, small and bigger than a chunk
        if (i % 7 === 0) frame(i, Buffer.alloc(i % 300, i & 0xff), i % 2 === 0 ? 'Wídget' : '');
        if (i === 2000) frame(i, Buffer.alloc(70_000, 0xab));
      }
      const tick1 = out.writeFrame(FrameKind.MESSAGE, 0, 9999, '', '"last of tick 1"');
      expected.push(encodeFrameToBuffer({ kind: FrameKind.MESSAGE, id: 9999, payload: '"last of tick 1"' }));
      await tick1;
      // Tick 2: the chunk's remaining room is used again without touching what left in tick 1.
      for (let i = 1; i <= 100; i++) frame(10_000 + i, `"tick 2 #${i}"`);
      out.writeFrameNow(FrameKind.REPLY, 0, 7, '', '"now"');
      expected.push(encodeFrameToBuffer({ kind: FrameKind.REPLY, id: 7, payload: '"now"' }));
      // Encoded values: into the chunk without attachments, their own parts with; flags added to the value's.
      const plain = codec.encode({ a: 1 });
      const withBytes = codec.encode({ b: Buffer.alloc(70_000, 0xcd), d: new Date(3) });
      out.writeValueNow(FrameKind.REQUEST, plain, 8, FrameFlags.STREAM);
      void out.writeValue(FrameKind.MESSAGE, withBytes, 0, 0);
      out.writeValueNow(FrameKind.REPLY, withBytes, 9, 0);
      void out.writeValue(FrameKind.MESSAGE, plain, 0, 0);
      expected.push(
        encodeFrameToBuffer({ kind: FrameKind.REQUEST, id: 8, flags: FrameFlags.STREAM, payload: plain.payload }),
        encodeFrameToBuffer({ kind: FrameKind.MESSAGE, flags: FrameFlags.TAGGED, payload: withBytes.payload, attachments: withBytes.attachments }),
        encodeFrameToBuffer({ kind: FrameKind.REPLY, id: 9, flags: FrameFlags.TAGGED, payload: withBytes.payload, attachments: withBytes.attachments }),
        encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: plain.payload }),
      );
      await out.write([]);
      writer.end();
      const bytes = await received;
      const want = Buffer.concat(expected);
      expect(bytes.length).to.equal(want.length);
      expect(bytes.equals(want)).to.equal(true);
      expect(counters.bytesOut).to.equal(want.length);
      // and it is a stream of valid frames
      const decoder = new FrameDecoder();
      expect(decoder.push(bytes)).to.have.length(expected.length);
    } finally {
      await close();
    }
  });

  it('writes shared ranges by reference, in order with everything else, one part while they continue each other', async () => {
    const { writer, received, close } = await pair();
    try {
      const counters = { bytesOut: 0 };
      const out = new SocketWriter(writer, counters);
      const written: Buffer[] = [];
      const write = writer.write.bind(writer) as (chunk: Buffer, cb?: (err?: Error | null) => void) => boolean;
      writer.write = ((chunk: Buffer, cb?: (err?: Error | null) => void) => {
        written.push(chunk);
        return write(chunk, cb);
      }) as typeof writer.write;
      const shared = Buffer.alloc(4096);
      const frames = [0, 1, 2, 3, 4].map((i) => encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: `{"n":${i}}` }));
      const at: number[] = [0];
      for (const f of frames) {
        f.copy(shared, at[at.length - 1]);
        at.push((at[at.length - 1] ?? 0) + f.length);
      }
      const range = (i: number): [Buffer, number, number] => [shared, at[i] ?? 0, at[i + 1] ?? 0];
      // Tick 1: three ranges that continue each other: one part, a view of the shared buffer, no copy.
      void out.writeShared(...range(0));
      void out.writeShared(...range(1));
      expect(out.pendingBytes).to.equal((at[2] ?? 0) - (at[0] ?? 0));
      await out.writeShared(...range(2));
      expect(written).to.have.length(1);
      expect(written[0]?.buffer).to.equal(shared.buffer);
      expect(written[0]?.byteOffset).to.equal(shared.byteOffset + (at[0] ?? 0));
      expect(written[0]?.length).to.equal((at[3] ?? 0) - (at[0] ?? 0));
      // Tick 2: a frame of this writer's own between two ranges that continue each other stays between them.
      const own = encodeFrameToBuffer({ kind: FrameKind.PING, payload: '' });
      void out.writeFrame(FrameKind.REPLY, 0, 4, '', '"first"'); // the writer's chunk has room for what follows
      void out.writeShared(...range(3));
      out.writeNow([own]);
      void out.writeFrame(FrameKind.REPLY, 0, 5, '', '"mine"');
      await out.writeShared(...range(4));
      writer.end();
      const bytes = await received;
      const want = Buffer.concat([...frames.slice(0, 3), encodeFrameToBuffer({ kind: FrameKind.REPLY, id: 4, payload: '"first"' }), frames[3] as Buffer, own, encodeFrameToBuffer({ kind: FrameKind.REPLY, id: 5, payload: '"mine"' }), frames[4] as Buffer]);
      expect(bytes.equals(want)).to.equal(true);
      expect(counters.bytesOut).to.equal(want.length);
      expect(out.pendingBytes).to.equal(0);
    } finally {
      await close();
    }
  });

  it('a type name longer than 255 bytes throws before anything is queued', async () => {
    const { writer, close } = await pair();
    try {
      const counters = { bytesOut: 0 };
      const out = new SocketWriter(writer, counters);
      expect(() => out.writeFrame(FrameKind.MESSAGE, 0, 0, 'x'.repeat(256), '{}')).to.throw(RangeError);
      expect(counters.bytesOut).to.equal(0);
      expect(out.pendingBytes).to.equal(0);
    } finally {
      await close();
    }
  });
});
