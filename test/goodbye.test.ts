import { expect } from 'chai';
import { ErrorCode, HopwireError } from '../src/errors.js';
import { goodbyeInfo, goodbyePayload } from '../src/goodbye.js';

describe('goodbye payloads', () => {
  it('carries the code and the reason', () => {
    expect(JSON.parse(goodbyePayload('closed', 'shutting down'))).to.deep.equal({ code: 'closed', reason: 'shutting down' });
  });

  it('cuts a long reason at 500 UTF-16 units, never inside a surrogate pair', () => {
    const long = JSON.parse(goodbyePayload('closed', 'x'.repeat(600))) as { reason: string };
    expect(long.reason).to.equal('x'.repeat(500));
    // The 500th unit is the first half of an emoji: the whole emoji goes.
    const split = JSON.parse(goodbyePayload('closed', `${'x'.repeat(499)}😀tail`)) as { reason: string };
    expect(split.reason).to.equal('x'.repeat(499));
    expect(/[\uD800-\uDBFF]$/.test(split.reason)).to.equal(false);
    const whole = JSON.parse(goodbyePayload('closed', `${'x'.repeat(498)}😀tail`)) as { reason: string };
    expect(whole.reason).to.equal(`${'x'.repeat(498)}😀`);
  });

  it('turns a version, auth or protocol goodbye into a protocol error, anything else into remote-closed', () => {
    for (const code of [ErrorCode.VERSION, ErrorCode.AUTH, ErrorCode.PROTOCOL]) {
      const info = goodbyeInfo(Buffer.from(goodbyePayload(code, 'no')));
      expect(info.reason).to.equal('protocol-error');
      expect(info.error).to.be.instanceOf(HopwireError);
      expect((info.error as HopwireError).code).to.equal(code);
      expect(info.message).to.equal('the peer said goodbye: no');
    }
    expect(goodbyeInfo(Buffer.from(goodbyePayload('closed', 'bye')))).to.deep.equal({ reason: 'remote-closed', message: 'the peer said goodbye: bye' });
  });

  it('takes an unreadable or oversized reason from the peer without failing', () => {
    expect(goodbyeInfo(Buffer.from('not json'))).to.deep.equal({ reason: 'remote-closed', message: 'the peer said goodbye' });
    expect(goodbyeInfo(Buffer.from('{"reason":7}'))).to.deep.equal({ reason: 'remote-closed', message: 'the peer said goodbye' });
    const info = goodbyeInfo(Buffer.from(JSON.stringify({ code: 'closed', reason: `${'y'.repeat(499)}😀${'z'.repeat(100)}` })));
    expect(info.message).to.equal(`the peer said goodbye: ${'y'.repeat(499)}`);
  });
});
