// mocha's settings. What `npm test` runs, and in which environment, is bin/test.js's choice: it
// sets PHONEHOME_TEST_SUITE to "harness" (the harness's own tests, test/) or "audits" (the audit
// suites, scenarios/). Plain `npx mocha` runs both; files named on mocha's command line run alone.
const { existsSync } = require('node:fs');

const SUITES = {
  harness: ['test/**/*.test.ts'],
  audits: ['scenarios/**/*.scenario.ts'],
};

/** Mocha options that take a value: their value is not a file to run. */
const WITH_VALUE = new Set([
  '-g',
  '--grep',
  '-f',
  '--fgrep',
  '-R',
  '--reporter',
  '-O',
  '--reporter-option',
  '--reporter-options',
  '-r',
  '--require',
  '--file',
  '--ignore',
  '--exclude',
  '--config',
  '-t',
  '--timeout',
  '--timeouts',
  '-s',
  '--slow',
  '-u',
  '--ui',
  '--extension',
  '-j',
  '--jobs',
  '--spec',
  '--node-option',
  '-n',
  '--retries',
  '--package',
]);

/** Whether files or folders were named on mocha's command line (mocha adds them to `spec`). */
function filesNamed(argv) {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith('-')) {
      if (WITH_VALUE.has(arg)) i++;
    } else if (/\.(c|m)?[jt]s$/.test(arg) || existsSync(arg)) return true;
  }
  return false;
}

function spec() {
  if (filesNamed(process.argv.slice(2))) return [];
  const suite = process.env.PHONEHOME_TEST_SUITE;
  return suite && SUITES[suite] ? SUITES[suite] : [...SUITES.harness, ...SUITES.audits];
}

module.exports = {
  'node-option': ['import=tsx'],
  spec: spec(),
  reporter: './src/verdict/mocha-summary-reporter.cjs',
  timeout: 60000,
  exit: true,
};
