'use strict';
// Mocha's spec reporter, plus a machine-readable summary for `.ci/run`:
// when HOPWIRE_TEST_RESULTS names a file, the pass/fail/skip counts of the
// run are written there as JSON when the run ends.
const fs = require('node:fs');
const Mocha = require('mocha');

const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class HopwireReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const file = process.env.HOPWIRE_TEST_RESULTS;
      if (!file) return;
      const { passes, failures, pending } = runner.stats;
      fs.writeFileSync(file, JSON.stringify({ passed: passes, failed: failures, skipped: pending }));
    });
  }
}

module.exports = HopwireReporter;
