import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';

/**
 * Tests that need what only the system can give — root, network namespaces, nftables, a static
 * busybox, tcpdump — and cannot have it here. On a tester's machine they are skipped, and the
 * reason with the command that fixes it is printed in `npm test`'s closing summary; in strict mode
 * (`PHONEHOME_STRICT_TESTS=1`, which .ci/run sets) such a skip fails instead, so CI runs them all.
 */
export interface SystemNeed {
  /** What is missing, said to the user: "root", "nft (nftables)". */
  what: string;
  /** The command that provides it: "sudo npm test", "apt-get install nftables". */
  fix: string;
  present(): boolean;
}

/** A command on PATH that answers `args` without failing. */
export function command(name: string, args: string[], fix: string, what = name): SystemNeed {
  return {
    what,
    fix,
    present: () => {
      try {
        execFileSync(name, args, { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** The test process runs as root (namespaces, mounts and nftables need it). */
export const ROOT: SystemNeed = {
  what: 'root',
  fix: 'run npm test as root (CI does)',
  present: () => process.getuid?.() === 0,
};

/**
 * Why tests needing `needs` cannot run here (the first need missing, with its fix), or undefined.
 *
 * @example
 *   missingNeed('the gateway tests', [ROOT, command('nft', ['--version'], 'apt-get install nftables')])
 *   // → 'the gateway tests need root: run npm test as root (CI does)' for a user without root
 */
export function missingNeed(who: string, needs: SystemNeed[]): string | undefined {
  const missing = needs.find((need) => !need.present());
  return missing ? `${who} need ${missing.what}: ${missing.fix}` : undefined;
}

/** Whether a skip for a missing system tool must fail the run (CI). */
export function strictTests(): boolean {
  return process.env.PHONEHOME_STRICT_TESTS === '1';
}

/**
 * Skips the current test or hook because `reason` (from `missingNeed`) — or, in strict mode,
 * fails it with the reason. The reason goes to the file bin/test.js prints in its summary.
 *
 * @example
 *   before(function () { const why = missingNeed(…); if (why) skipForSystem(this, why); });
 */
export function skipForSystem(context: Mocha.Context, reason: string): never {
  if (strictTests()) throw new Error(`${reason} (PHONEHOME_STRICT_TESTS=1: a skip fails)`);
  const file = process.env.PHONEHOME_SKIPS_FILE;
  if (file) appendFileSync(file, `${reason}\n`);
  context.skip();
}
