import { expect } from 'chai';
import { SMALL_RUN, pushChunk } from '../src/chunks.js';
import { Codec } from '../src/codec.js';
import { FrameDecoder } from '../src/frame-decoder.js';
import { FrameKind, encodeFrameToBuffer } from '../src/frame.js';
import { LineDecoder } from '../src/line-decoder.js';

describe('holding small chunks', () => {
  it('merges runs of small chunks, keeping every byte in order', () => {
    const list: Buffer[] = [];
    let run = 0;
    const bytes: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      run = pushChunk(list, Buffer.from([i & 0xff]), run);
      bytes.push(i & 0xff);
    }
    expect(list.length).to.be.below(10_000 / SMALL_RUN + SMALL_RUN);
    expect([...Buffer.concat(list)]).to.deep.equal(bytes);
  });

  it('keeps big chunks as they are (no copies)', () => {
    const big = Buffer.alloc(64 * 1024, 1);
    const list: Buffer[] = [];
    let run = 0;
    for (let i = 0; i < 100; i++) run = pushChunk(list, big, run);
    expect(list.every((b) => b === big)).to.equal(true);
  });

  it('a frame fed one byte at a time (merged runs) still decodes', () => {
    const frame = encodeFrameToBuffer({ kind: FrameKind.MESSAGE, payload: JSON.stringify({ s: 'x'.repeat(50_000) }) });
    const decoder = new FrameDecoder();
    let frames: unknown[] = [];
    for (const byte of frame) frames = frames.concat(decoder.push(Buffer.from([byte])));
    expect(frames).to.have.length(1);
  });

  it('a line fed one byte at a time decodes the same', () => {
    const line = Buffer.from(`${JSON.stringify({ s: 'y'.repeat(20_000) })}\n`);
    const decoder = new LineDecoder();
    const results = [];
    for (const byte of line) results.push(...decoder.push(Buffer.from([byte])));
    expect(results).to.have.length(1);
    expect(results[0]).to.deep.include({ ok: true });
  });

  it('received typed arrays own exactly their bytes (.buffer exposes nothing else)', () => {
    const codec = new Codec();
    const e = codec.encode({ f: new Float32Array([1, 2, 3]), v: new DataView(new ArrayBuffer(4)) });
    const frame = encodeFrameToBuffer({ kind: FrameKind.MESSAGE, flags: 1, payload: e.payload, attachments: e.attachments });
    const [decoded] = new FrameDecoder().push(frame);
    const { value } = codec.decode(decoded!.type, decoded!.payload, decoded!.attachments, true);
    const { f, v } = value as { f: Float32Array; v: DataView };
    expect(f.buffer.byteLength).to.equal(12);
    expect(v.buffer.byteLength).to.equal(4);
    expect([...f]).to.deep.equal([1, 2, 3]);
  });
});
