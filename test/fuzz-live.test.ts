import { expect } from 'chai';
import { runLiveFuzz } from '../fuzz/live.js';

describe('live fuzz (short)', () => {
  it('5,000 garbage chunks through a live server: the good client never sees an error', async function () {
    this.timeout(60_000);
    const report = await runLiveFuzz({ chunks: 5_000, seed: 20261123, parallel: 4 });
    expect(report.goodErrors).to.deep.equal([]);
    expect(report.goodRequests).to.be.greaterThan(0);
    expect(report.chunks).to.equal(5_000);
    expect(Object.keys(report.disconnectReasons).length).to.be.greaterThan(0);
  });
});
