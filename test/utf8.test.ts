import { expect } from 'chai';
import fc from 'fast-check';
import { portableUtf8Text, portableWriteUtf8, utf8Text, writeUtf8 } from '../src/utf8.js';

describe('utf8', () => {
  it('reads and writes like toString and write, with Node’s own methods and without', () => {
    expect(utf8Text).to.not.equal(portableUtf8Text, 'Node 20 has Buffer#utf8Slice and #utf8Write');
    for (const [text, write] of [[utf8Text, writeUtf8], [portableUtf8Text, portableWriteUtf8]] as const) {
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), fc.nat(8), fc.nat(8), (s, before, after) => {
          const bytes = Buffer.byteLength(s, 'utf8');
          // A view into a larger buffer, at an odd offset: positions are the view's.
          const buf = Buffer.alloc(3 + before + bytes + after + 2, 0xee).subarray(3, 3 + before + bytes + after);
          expect(write(buf, s, before)).to.equal(bytes);
          expect(buf.subarray(before, before + bytes).equals(Buffer.from(s, 'utf8'))).to.equal(true);
          expect(buf.subarray(before + bytes).every((b) => b === 0xee)).to.equal(true);
          expect(Buffer.from(buf.buffer, buf.byteOffset - 3, 3).every((b) => b === 0xee)).to.equal(true);
          expect(text(buf, before, before + bytes)).to.equal(Buffer.from(s, 'utf8').toString('utf8'));
        }),
      );
      // Too little room: whole characters only, as Buffer#write.
      expect(write(Buffer.alloc(5), 'ab😀', 0)).to.equal(2);
      // Bytes that are not UTF-8 read as U+FFFD, as toString.
      expect(text(Buffer.from([0x7b, 0xff, 0x7d]), 0, 3)).to.equal('{\uFFFD}');
    }
  });
});
