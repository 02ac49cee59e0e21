import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { asRoot, type RootMethod } from '../../src/device/android/root.ts';
import { tempDir } from '../support/temp.ts';

// `adb shell` hands its line to the phone's sh, which hands the words to su, which runs them:
// the quoting of asRoot must survive both. Each su below takes its arguments as the real one
// does (Magisk's and SuperSU's `su [-mm] -c CMD` runs CMD with sh -c; AOSP's debug `su 0 CMD…`
// execs CMD), and a real sh parses the line, so what arrives is what would run as root.
const SU_FORMS: Record<Exclude<RootMethod, 'adbd'>, string> = {
  'su-mm': `#!/bin/sh
[ "$1" = "-mm" ] || { echo "su: expected -mm" >&2; exit 9; }
shift
[ "$1" = "-c" ] || { echo "su: expected -c" >&2; exit 9; }
[ $# -eq 2 ] || { echo "su: -c takes one argument, got $(($# - 1))" >&2; exit 9; }
exec sh -c "$2"
`,
  'su-c': `#!/bin/sh
[ "$1" = "-c" ] || { echo "su: expected -c" >&2; exit 9; }
[ $# -eq 2 ] || { echo "su: -c takes one argument, got $(($# - 1))" >&2; exit 9; }
exec sh -c "$2"
`,
  'su-0': `#!/bin/sh
[ "$1" = "0" ] || { echo "su: expected uid 0" >&2; exit 9; }
shift
exec "$@"
`,
};

describe('root commands survive the phone shell and su as they are', () => {
  const dirs = tempDir();
  after(() => dirs.remove());
  const commands = [
    'id',
    'sh /data/local/tmp/phonehome-ca/install.sh',
    'iptables -w -t nat -A PHONEHOME -p tcp -j REDIRECT --to-ports 8123',
    `printf '%s|' "two words" 'it'"'"'s' '$HOME' ';' '&&'`,
  ];

  for (const [method, script] of Object.entries(SU_FORMS) as [RootMethod, string][]) {
    it(`${method}: every command arrives word for word`, () => {
      const bin = join(dirs.path, method);
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'su'), script);
      chmodSync(join(bin, 'su'), 0o755);
      // What the command prints run directly is what it must print through su.
      writeFileSync(join(bin, 'iptables'), '#!/bin/sh\nprintf "%s|" "$@"\n');
      chmodSync(join(bin, 'iptables'), 0o755);
      writeFileSync(join(bin, 'id'), '#!/bin/sh\necho uid=0\n');
      chmodSync(join(bin, 'id'), 0o755);
      mkdirSync(join(dirs.path, 'data/local/tmp/phonehome-ca'), { recursive: true });
      const env = {
        ...process.env,
        PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`,
        HOME: '/nowhere',
      };
      for (const command of commands.map((c) => c.replace('/data/', `${dirs.path}/data/`))) {
        if (command.includes('install.sh'))
          writeFileSync(command.split(' ')[1]!, 'echo "phonehome-ca: installed x.0"\n');
        const direct = execFileSync('sh', ['-c', command], { env, encoding: 'utf8' });
        const through = execFileSync('sh', ['-c', asRoot(method, command)], {
          env,
          encoding: 'utf8',
        });
        expect(through, `${method}: ${command}`).to.equal(direct);
      }
    });
  }
});
