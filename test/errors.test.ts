import { expect } from 'chai';
import { ErrorCode, HopwireError, isHopwireError } from '../src/errors.js';

describe('HopwireError', () => {
  it('carries a stable code, a name and its cause', () => {
    const cause = new Error('inner');
    const err = new HopwireError(ErrorCode.PROTOCOL, 'bad kind 99', { cause });
    expect(err).to.be.instanceOf(Error);
    expect(err.name).to.equal('HopwireError');
    expect(err.code).to.equal('ERR_PROTOCOL');
    expect(err.message).to.equal('bad kind 99');
    expect(err.cause).to.equal(cause);
  });

  it('isHopwireError checks class and code', () => {
    const err = new HopwireError(ErrorCode.CLOSED, 'closed');
    expect(isHopwireError(err)).to.equal(true);
    expect(isHopwireError(err, ErrorCode.CLOSED)).to.equal(true);
    expect(isHopwireError(err, ErrorCode.REMOTE)).to.equal(false);
    expect(isHopwireError(new Error('x'))).to.equal(false);
  });

  it('every code is unique and starts with ERR_', () => {
    const codes = Object.values(ErrorCode);
    expect(new Set(codes).size).to.equal(codes.length);
    for (const code of codes) expect(code).to.match(/^ERR_[A-Z_]+$/);
  });
});
