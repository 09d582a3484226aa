/**
 * Prints the plain closing line CI reads: "jest: N passed, N failed, N skipped". A suite that failed
 * outside any test (a throwing beforeAll/afterAll, a module that does not load) counts as a failure
 * too, so the line never says "0 failed" on a red run.
 */
export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests: passed, numFailedTests: failed, numPendingTests: skipped } = results;
    const broken = results.testResults.filter((r) => r.testExecError || (r.failureMessage && r.numFailingTests === 0));
    const suites = broken.length > 0 ? `, ${broken.length} suite(s) failed outside tests` : '';
    process.stdout.write(`\njest: ${passed} passed, ${failed} failed, ${skipped} skipped${suites}\n`);
  }
}
