#!/usr/bin/env node
// `npm test`. Two mocha runs, each in the environment it needs:
// 1. the harness's own tests (test/), hermetic: every PHONEHOME_* variable is removed and no .env
//    is read (PHONEHOME_ENV_FILE=/dev/null), so they never depend on the device you chose;
// 2. the audit suites (scenarios/) on the chosen device, with your environment and .env.
// With a real phone chosen (PHONEHOME_DEVICE naming a device whose kind is not "virtual"), only
// the audits run. `npm test -- <files>` runs those files only, in your environment (options such as
// --grep pass through to mocha); `npm run test:harness` (bin/test.js --harness) the harness alone.
// The last line totals both runs (`N passed, N failed`). Tests that need what only the system gives
// (root, nftables, tcpdump…) are skipped where it is missing, and the summary says what and how to get
// it; PHONEHOME_STRICT_TESTS=1 (.ci/run) makes such a skip fail (test/support/system-tools.ts).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const mocha = join(dirname(require.resolve('mocha/package.json')), 'bin', 'mocha.js');
const args = process.argv.slice(2);

/** Runs mocha, passing its output through, and resolves with its exit code and closing tally. */
function run(extraArgs, env) {
  return new Promise((done) => {
    const colour = process.stdout.isTTY && !process.env.NO_COLOR ? ['--color'] : [];
    const child = spawn(process.execPath, [mocha, ...colour, ...extraArgs], {
      cwd: root,
      env,
      stdio: ['inherit', 'pipe', 'inherit'],
    });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-400);
    });
    child.on('close', (code, signal) => {
      const last = /(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/.exec(tail);
      const tally = last ? last.slice(1, 4).map((n) => Number(n ?? 0)) : [0, 0, 0];
      done({ code: code ?? (signal ? 1 : 0), tally, counted: Boolean(last) });
    });
  });
}

/**
 * The chosen device, chosen by phonehome's own code (PHONEHOME_DEVICE, .env, devices.json's
 * default). Undefined when devices.json cannot say: the audit run then reports why, with its path.
 */
async function chosenDevice() {
  register();
  const { chooseDevice, loadDevices } = await import('../src/config/devices.ts');
  try {
    return chooseDevice(loadDevices());
  } catch {
    return undefined;
  }
}

// Taken before anything reads .env into process.env: the harness run gets none of it.
const callerEnv = { ...process.env };

/** Where the harness's tests write why they skipped (one reason a line), read for the summary. */
const skipsDir = mkdtempSync(join(tmpdir(), 'phonehome-skips-'));
const skipsFile = join(skipsDir, 'skips');
process.on('exit', () => rmSync(skipsDir, { recursive: true, force: true }));

/** The reasons tests were skipped for, each once, with how to get what they needed. */
function skipSummary() {
  let text = '';
  try {
    text = readFileSync(skipsFile, 'utf8');
  } catch {
    return '';
  }
  const reasons = [...new Set(text.split('\n').filter(Boolean))];
  if (reasons.length === 0) return '';
  return `Skipped, because this machine lacks what they need (CI runs them all):\n${reasons.map((reason) => `  - ${reason}`).join('\n')}\n`;
}

function hermetic() {
  // PHONEHOME_CHROMIUM picks the tests' browser and PHONEHOME_STRICT_TESTS whether a missing
  // system tool fails: they say how to test, not how phonehome behaves, and stay.
  const kept = new Set(['PHONEHOME_CHROMIUM', 'PHONEHOME_STRICT_TESTS']);
  const env = Object.fromEntries(
    Object.entries(callerEnv).filter(([name]) => !name.startsWith('PHONEHOME_') || kept.has(name)),
  );
  return {
    ...env,
    PHONEHOME_ENV_FILE: '/dev/null',
    PHONEHOME_TEST_SUITE: 'harness',
    PHONEHOME_SKIPS_FILE: skipsFile,
  };
}

const harnessOnly = args[0] === '--harness';
const options = harnessOnly ? args.slice(1) : args;
if (harnessOnly) {
  const { code, tally } = await run(options, hermetic());
  const skips = skipSummary();
  if (skips)
    process.stdout.write(`${skips}${tally[0]} passed, ${tally[1]} failed, ${tally[2]} skipped\n`);
  process.exit(code);
}
// Anything that is not an option names files to run (mocha's options pass through to both runs).
if (options.some((arg) => !arg.startsWith('-'))) {
  const { code, tally } = await run(options, { ...callerEnv, PHONEHOME_SKIPS_FILE: skipsFile });
  const skips = skipSummary();
  if (skips)
    process.stdout.write(`${skips}${tally[0]} passed, ${tally[1]} failed, ${tally[2]} skipped\n`);
  process.exit(code);
}

const device = await chosenDevice();
const real = device !== undefined && device.kind !== 'virtual';
const runs = [];
if (real) {
  console.error(
    `phonehome: ${device.id} is a real phone (${device.kind}): running the audit suites on it; npm run test:harness runs the harness's own tests`,
  );
} else {
  runs.push(await run(options, hermetic()));
}
runs.push(await run(options, { ...callerEnv, PHONEHOME_TEST_SUITE: 'audits' }));
const total = runs.reduce((sum, { tally }) => sum.map((n, i) => n + tally[i]), [0, 0, 0]);
const failed = runs.some(({ code, counted }) => code !== 0 || !counted);
const skips = skipSummary();
if (runs.length > 1 || skips) {
  process.stdout.write(
    `${skips}${total[0]} passed, ${total[1]} failed${total[2] > 0 ? `, ${total[2]} skipped` : ''}\n`,
  );
}
process.exit(failed ? 1 : 0);
