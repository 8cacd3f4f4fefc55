import { expect } from 'chai';
import fc from 'fast-check';
import { ErrorCode, HopwireError } from '../src/errors.js';
import { LineDecoder, encodeLine } from '../src/line-decoder.js';
import type { LineDecoderOptions, LineResult } from '../src/line-decoder.js';
import { thrown } from './support/async.js';
import { bytewise, cut } from './support/wire.js';

/** The values of `results`; fails on the first error result. */
function values(results: LineResult[]): unknown[] {
  return results.map((result) => {
    if (!result.ok) throw new Error(`unexpected error result: ${result.error.message}`);
    return result.value;
  });
}

/** Pushes every chunk into a fresh decoder and collects all results. */
function feed(chunks: Buffer[], options?: LineDecoderOptions): LineResult[] {
  const decoder = new LineDecoder(options);
  return chunks.flatMap((chunk) => decoder.push(chunk));
}

function expectCode(err: unknown, code: ErrorCode): HopwireError {
  expect(err).to.be.instanceOf(HopwireError);
  const error = err as HopwireError;
  expect(error.code).to.equal(code);
  return error;
}

const b = (text: string): Buffer => Buffer.from(text, 'utf8');

describe('LineDecoder', () => {
  describe('basics', () => {
    it('decodes a single line', () => {
      const decoder = new LineDecoder();
      expect(decoder.push(b('{"a":1}\n'))).to.deep.equal([{ ok: true, value: { a: 1 } }]);
      expect(decoder.bufferedBytes).to.equal(0);
    });

    it('decodes several lines in one chunk, in order', () => {
      expect(values(feed([b('1\n[2]\n{"x":"y"}\n')]))).to.deep.equal([1, [2], { x: 'y' }]);
    });

    it('accepts bare values of every JSON type', () => {
      const text = '{"o":{}}\n[1,[2]]\n"str"\n-1.5e3\n0\ntrue\nfalse\nnull\n';
      expect(values(feed([b(text)]))).to.deep.equal([{ o: {} }, [1, [2]], 'str', -1500, 0, true, false, null]);
    });

    it('holds an unterminated line until its terminator arrives', () => {
      const decoder = new LineDecoder();
      expect(decoder.push(b('{"a":'))).to.deep.equal([]);
      expect(decoder.bufferedBytes).to.equal(5);
      expect(decoder.push(b('2}\n3'))).to.deep.equal([{ ok: true, value: { a: 2 } }]);
      expect(decoder.bufferedBytes).to.equal(1);
    });

    it("tolerates '\\r\\n' senders with the default terminator, even split between chunks", () => {
      expect(values(feed([b('1\r\n"a"\r\n')]))).to.deep.equal([1, 'a']);
      expect(values(feed([b('1\r'), b('\n2\r'), b('\n')]))).to.deep.equal([1, 2]);
    });

    it("keeps a '\\r' inside a line and does not strip it for other terminators", () => {
      expect(values(feed([b('"a\\rb"\r\n')]))).to.deep.equal(['a\rb']);
      const results = feed([b('1\rEND')], { terminator: 'END' });
      // '1\r' is still valid JSON (trailing whitespace), so it decodes.
      expect(values(results)).to.deep.equal([1]);
      expect(feed([b('"x"\r\u0000')], { terminator: '\u0000' })).to.have.length(1);
    });

    it('skips empty and whitespace-only lines', () => {
      expect(values(feed([b('\n\n  \n\t\r\n1\n \r\n\n2\n')]))).to.deep.equal([1, 2]);
    });

    it('returns nothing for an empty chunk', () => {
      const decoder = new LineDecoder();
      expect(decoder.push(Buffer.alloc(0))).to.deep.equal([]);
      expect(decoder.bufferedBytes).to.equal(0);
    });
  });

  describe('chunking', () => {
    const stream = '{"id":1,"s":"a\\nb"}\n[true,null]\r\n\n"héllo 😀"\n42\nnot json\n{"end":[]}\n';
    const terminators = ['\n', '\r\n', 'END', '\u0000', 'ENEND'];

    for (const terminator of terminators) {
      const bytes = b(stream.replaceAll('\n', terminator));
      const options = { terminator };

      it(`gives the same results split at every offset and byte by byte (terminator ${JSON.stringify(terminator)})`, () => {
        const whole = feed([bytes], options);
        expect(whole).to.have.length(6);
        expect(whole.filter((result) => !result.ok)).to.have.length(1);
        for (let i = 0; i <= bytes.length; i++) {
          expect(feed(cut(bytes, [i]), options)).to.deep.equal(whole, `split at ${i}`);
        }
        expect(feed(bytewise(bytes), options)).to.deep.equal(whole);
      });
    }

    it('decodes random chunkings of generated JSON values (property)', () => {
      const terminator = fc.constantFrom('\n', '\r\n', '\u0000', '\u001e', '\r\n\r\n');
      fc.assert(
        fc.property(fc.array(fc.jsonValue()), terminator, fc.array(fc.nat()), (input, term, offsets) => {
          const bytes = Buffer.concat(input.map((value) => encodeLine(value, term)));
          const chunks = cut(
            bytes,
            offsets.map((offset) => offset % (bytes.length + 1)),
          );
          const expected = input.map((value) => JSON.parse(JSON.stringify(value)) as unknown);
          expect(values(feed(chunks, { terminator: term }))).to.deep.equal(expected);
        }),
        { numRuns: 2000 },
      );
    });

    it('is linear in the bytes pushed (200,000 one-byte chunks of one line)', () => {
      const count = 200_000;
      const decoder = new LineDecoder({ terminator: '\r\n' });
      const quote = Buffer.from('"');
      const x = Buffer.from('x');
      // Count the bytes every Buffer.concat produces while the line builds up:
      // re-joining the held bytes per chunk would copy ~20 GB here.
      const concat = Buffer.concat.bind(Buffer);
      let copied = 0;
      Buffer.concat = (list: readonly Uint8Array[], total?: number) => {
        const out = concat(list, total);
        copied += out.length;
        return out;
      };
      let results;
      try {
        decoder.push(quote);
        for (let i = 0; i < count; i++) decoder.push(x);
        expect(decoder.bufferedBytes).to.equal(count + 1);
        decoder.push(quote);
        decoder.push(Buffer.from('\r'));
        results = decoder.push(Buffer.from('\n'));
      } finally {
        Buffer.concat = concat;
      }
      expect(copied).to.be.below(10 * (count + 4)); // linear; quadratic would be ~count²/2
      expect(values(results)).to.deep.equal(['x'.repeat(count)]);
    });
  });

  describe('multi-byte terminators', () => {
    it("splits on an explicit '\\r\\n' and keeps lone '\\n' and '\\r' inside lines", () => {
      const results = feed([b('[1,\n2]\r\n[3,\r4]\r\n')], { terminator: '\r\n' });
      expect(values(results)).to.deep.equal([
        [1, 2],
        [3, 4],
      ]);
    });

    it("splits on 'END', also when the terminator is cut between chunks", () => {
      const options = { terminator: 'END' };
      expect(values(feed([b('1END2END')], options))).to.deep.equal([1, 2]);
      expect(values(feed([b('1E'), b('ND2EN'), b('D')], options))).to.deep.equal([1, 2]);
      expect(values(feed([b('1'), b('E'), b('N'), b('D'), b('2END')], options))).to.deep.equal([1, 2]);
    });

    it('finds the first terminator when a partial match overlaps a real one', () => {
      // '"a"EEND': the first 'E' is a false start, so the line is '"a"E' (not JSON).
      const results = feed([b('"a"E'), b('END')], { terminator: 'END' });
      expect(results).to.have.length(1);
      expect(results[0]!.ok).to.equal(false);
      expect(values(feed(bytewise(b('1ENEND2ENEND')), { terminator: 'ENEND' }))).to.deep.equal([1, 2]);
      expect(values(feed([b('1EN'), b('EN'), b('D')], { terminator: 'ENEND' }))).to.deep.equal([1]);
    });

    it("splits on '\\u0000'", () => {
      expect(values(feed([b('{"a":"b"}\u0000'), b('[]\u0000"\\u0000"\u0000')], { terminator: '\u0000' }))).to.deep.equal(
        [{ a: 'b' }, [], '\u0000'],
      );
    });

    it('splits on a multi-byte UTF-8 terminator cut inside its character', () => {
      const bytes = b('1§2§');
      expect(values(feed(bytewise(bytes), { terminator: '§' }))).to.deep.equal([1, 2]);
    });
  });

  describe('invalid lines', () => {
    it('reports invalid JSON with ERR_DECODE and keeps decoding the next lines', () => {
      const results = feed([b('1\n{"a":\n2\n')]);
      expect(results).to.have.length(3);
      expect(results[0]).to.deep.equal({ ok: true, value: 1 });
      const bad = results[1]!;
      if (bad.ok) throw new Error('expected an error result');
      expect(bad.line).to.equal('{"a":');
      expectCode(bad.error, ErrorCode.DECODE);
      expect(bad.error.message).to.include('{\\"a\\":');
      expect(bad.error.cause).to.be.instanceOf(SyntaxError);
      expect(results[2]).to.deep.equal({ ok: true, value: 2 });
    });

    it('shows at most about 80 characters of a long bad line', () => {
      const line = `{${'x'.repeat(5000)}`;
      const [result] = feed([b(`${line}\n`)]);
      if (result?.ok !== false) throw new Error('expected an error result');
      expect(result.line).to.equal(line);
      expect(result.error.message.length).to.be.below(250);
      expect(result.error.message).to.include('x'.repeat(79));
    });

    it('reports invalid UTF-8 as ERR_DECODE', () => {
      const results = feed([Buffer.from([0x22, 0xff, 0xfe, 0x22, 0x0a]), b('3\n')]);
      expect(results).to.have.length(2);
      const bad = results[0]!;
      if (bad.ok) throw new Error('expected an error result');
      expectCode(bad.error, ErrorCode.DECODE);
      expect(bad.error.message).to.include('UTF-8');
      expect(results[1]).to.deep.equal({ ok: true, value: 3 });
    });
  });

  describe('maxLineBytes', () => {
    it('accepts a line of exactly maxLineBytes, whatever the chunking or terminator', () => {
      expect(values(feed([b('12345\n')], { maxLineBytes: 5 }))).to.deep.equal([12345]);
      expect(values(feed(bytewise(b('12345\n')), { maxLineBytes: 5 }))).to.deep.equal([12345]);
      // The tolerated '\r' does not count.
      expect(values(feed(bytewise(b('12345\r\n')), { maxLineBytes: 5 }))).to.deep.equal([12345]);
      expect(values(feed(bytewise(b('12345END')), { maxLineBytes: 5, terminator: 'END' }))).to.deep.equal([12345]);
      // A partial terminator that starts before the limit: '12' + 'ab' held (4 > 3) may still end as '12abc'.
      expect(values(feed([b('12ab'), b('c')], { maxLineBytes: 3, terminator: 'abc' }))).to.deep.equal([12]);
    });

    it('throws ERR_LINE_TOO_LARGE for a line one byte over, even with its terminator in the chunk', () => {
      const decoder = new LineDecoder({ maxLineBytes: 5 });
      expectCode(
        thrown(() => decoder.push(b('1\n123456\n2\n'))),
        ErrorCode.LINE_TOO_LARGE,
      );
      expect(decoder.failed).to.equal(true);
    });

    it('throws as soon as the held bytes pass the limit, without waiting for a terminator', () => {
      const decoder = new LineDecoder({ maxLineBytes: 5, terminator: '\r\n' });
      expect(decoder.push(b('12345\r'))).to.deep.equal([]);
      expect(decoder.failed).to.equal(false);
      const other = new LineDecoder({ maxLineBytes: 5, terminator: '\r\n' });
      expect(other.push(b('123'))).to.deep.equal([]);
      expectCode(
        thrown(() => other.push(b('456'))),
        ErrorCode.LINE_TOO_LARGE,
      );
      expect(other.bufferedBytes).to.equal(0);
    });

    it('throws on the push of 2 MiB without a newline into a default (1 MiB) decoder, then holds nothing', () => {
      const decoder = new LineDecoder();
      expect(decoder.push(b('1\n'))).to.have.length(1);
      const error = expectCode(
        thrown(() => decoder.push(Buffer.alloc(2 * 1024 * 1024, 0x20))),
        ErrorCode.LINE_TOO_LARGE,
      );
      expect(error.message).to.include('1048576');
      expect(decoder.bufferedBytes).to.equal(0);
      expect(decoder.failed).to.equal(true);
    });

    it('stays failed: every later push throws the same error', () => {
      const decoder = new LineDecoder({ maxLineBytes: 4 });
      const first = thrown(() => decoder.push(b('123456')));
      expectCode(first, ErrorCode.LINE_TOO_LARGE);
      expect(thrown(() => decoder.push(b('1\n')))).to.equal(first);
      expect(thrown(() => decoder.push(Buffer.alloc(0)))).to.equal(first);
      expect(decoder.failed).to.equal(true);
      expect(decoder.bufferedBytes).to.equal(0);
    });
  });

  it('decodes UTF-8 characters cut between chunks', () => {
    const text = '{"s":"héllo wörld 😀 日本語"}\n"€"\n';
    const bytes = b(text);
    const expected = [{ s: 'héllo wörld 😀 日本語' }, '€'];
    expect(values(feed(bytewise(bytes)))).to.deep.equal(expected);
    for (let i = 0; i <= bytes.length; i++) {
      expect(values(feed(cut(bytes, [i])))).to.deep.equal(expected);
    }
  });

  it('throws ERR_INVALID_OPTION for invalid options', () => {
    const bad: unknown[] = [
      { terminator: '' },
      { terminator: 10 },
      { maxLineBytes: 0 },
      { maxLineBytes: -1 },
      { maxLineBytes: 1.5 },
      { maxLineBytes: Number.NaN },
      { maxLineBytes: Number.POSITIVE_INFINITY },
      { maxLineBytes: '100' },
    ];
    for (const options of bad) {
      expectCode(
        thrown(() => new LineDecoder(options as LineDecoderOptions)),
        ErrorCode.INVALID_OPTION,
      );
    }
    expect(new LineDecoder({ maxLineBytes: 1, terminator: 'x' }).failed).to.equal(false);
  });

  it('never throws anything but HopwireError on random bytes (20,000 chunks)', () => {
    let seed = 0x9e3779b9;
    const random = (): number => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const alphabet = b('{}[]",:0123456789.-eE truenflsa\\u\n\r\nEND\u0000é😀');
    const configs: LineDecoderOptions[] = [
      {},
      { maxLineBytes: 64 },
      { terminator: '\r\n', maxLineBytes: 200 },
      { terminator: 'END', maxLineBytes: 32 },
      { terminator: '\u0000', maxLineBytes: 16 },
    ];
    const decoders = configs.map((options) => new LineDecoder(options));
    let results = 0;
    let failures = 0;
    for (let n = 0; n < 20_000; n++) {
      const chunk = Buffer.alloc(Math.floor(random() * 48));
      const structured = random() < 0.7;
      for (let i = 0; i < chunk.length; i++) {
        chunk[i] = structured ? alphabet[Math.floor(random() * alphabet.length)]! : Math.floor(random() * 256);
      }
      const index = n % decoders.length;
      try {
        for (const result of decoders[index]!.push(chunk)) {
          results++;
          if (!result.ok) expect(result.error.code).to.equal(ErrorCode.DECODE);
        }
      } catch (err) {
        expectCode(err, ErrorCode.LINE_TOO_LARGE);
        failures++;
        decoders[index] = new LineDecoder(configs[index]);
      }
    }
    expect(results).to.be.above(1000);
    expect(failures).to.be.above(10);
  });
});

describe('encodeLine', () => {
  it('writes JSON.stringify(value) plus the terminator', () => {
    expect(encodeLine({ a: [1, 'b'] }).toString()).to.equal('{"a":[1,"b"]}\n');
    expect(encodeLine('x', 'END').toString()).to.equal('"x"END');
    expect(encodeLine('ä', '\r\n')).to.deep.equal(Buffer.from('"ä"\r\n'));
  });

  it('round-trips through the decoder', () => {
    const input: unknown[] = [{ nested: { list: [1, 2, { deep: null }] } }, 'line\nbreak', 3.25, false, null, [], '😀'];
    for (const terminator of ['\n', '\r\n', 'END', '\u0000']) {
      const bytes = Buffer.concat(input.map((value) => encodeLine(value, terminator)));
      expect(values(feed(bytewise(bytes), { terminator }))).to.deep.equal(input);
    }
  });

  it('throws ERR_ENCODE for values without JSON text', () => {
    for (const value of [undefined, () => 1, Symbol('s')]) {
      expectCode(
        thrown(() => encodeLine(value)),
        ErrorCode.ENCODE,
      );
    }
  });

  it('throws ERR_ENCODE with the cause for a cycle and a BigInt', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const value of [cyclic, 10n, { n: 1n }]) {
      const error = expectCode(
        thrown(() => encodeLine(value)),
        ErrorCode.ENCODE,
      );
      expect(error.cause).to.be.instanceOf(TypeError);
    }
  });

  it('throws ERR_ENCODE when the text would contain the terminator', () => {
    expectCode(
      thrown(() => encodeLine('xENDx', 'END')),
      ErrorCode.ENCODE,
    );
    expectCode(
      thrown(() => encodeLine(1, '1')),
      ErrorCode.ENCODE,
    );
    // '"a"' holds no '""', but '"a"' + '""' would be read as the line '"a' then '"'.
    expectCode(
      thrown(() => encodeLine('a', '""')),
      ErrorCode.ENCODE,
    );
    expect(encodeLine('a\nb').toString()).to.equal('"a\\nb"\n');
  });

  it('throws ERR_INVALID_OPTION for an empty terminator', () => {
    expectCode(
      thrown(() => encodeLine(1, '')),
      ErrorCode.INVALID_OPTION,
    );
  });
});
