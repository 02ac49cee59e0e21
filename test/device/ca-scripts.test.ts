import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { loadOrCreateCa } from '../../src/capture/ca.ts';
import { androidCaFileName } from '../../src/device/android/subject-hash.ts';
import { installScript, removeScript } from '../../src/device/android/system-ca.ts';
import { PROJECT_ROOT } from '../../src/paths.ts';
import {
  command,
  missingNeed,
  ROOT,
  skipForSystem,
  type SystemNeed,
} from '../support/system-tools.ts';
import { tempDir } from '../support/temp.ts';

const FIXTURE = join(PROJECT_ROOT, 'test', 'fixtures', 'android-root');
const BUSYBOX = '/bin/busybox';
const APPLETS = [
  'seq',
  'cut',
  'tr',
  'sh',
  'mount',
  'umount',
  'cp',
  'chown',
  'chmod',
  'rm',
  'mkdir',
  'cat',
  'cmp',
  'grep',
  'pidof',
  'nsenter',
  'unshare',
  'sleep',
  'echo',
  'tail',
  'ls',
  'wc',
  'touch',
  'kill',
  'test',
  '[',
];

/** Whether a 64-bit ELF file asks for a dynamic loader (a PT_INTERP program header). */
function hasInterpreter(elf: Buffer): boolean {
  const table = Number(elf.readBigUInt64LE(0x20));
  const size = elf.readUInt16LE(0x36);
  const count = elf.readUInt16LE(0x38);
  for (let i = 0; i < count; i++) if (elf.readUInt32LE(table + i * size) === 3) return true;
  return false;
}

/** Why the scripts cannot run for real here, or undefined. */
function blocked(): string | undefined {
  const staticBusybox: SystemNeed = {
    what: 'a static busybox at /bin/busybox',
    fix: 'apt-get install busybox-static',
    present: () => {
      try {
        execFileSync(BUSYBOX, ['true'], { stdio: 'ignore' });
        // A dynamic busybox (Debian's busybox, not busybox-static) cannot run in the bare root.
        return !hasInterpreter(readFileSync(BUSYBOX));
      } catch {
        return false;
      }
    },
  };
  return missingNeed('the CA script tests (mount namespaces laid out like Android)', [
    ROOT,
    staticBusybox,
    command('unshare', ['--version'], 'apt-get install util-linux'),
  ]);
}

// The system-CA scripts phonehome pushes to a rooted phone, run for real: busybox's sh, mount,
// nsenter and unshare in a private mount namespace whose root (pivot_root) is laid out like
// Android 14's — /system/etc/security/cacerts, /apex/com.android.conscrypt/cacerts, a process
// named zygote64 in a mount namespace of its own forking apps into theirs. The store already
// holds an older phonehome CA under the same file name (every phonehome CA has the same subject
// hash). What each namespace shows is read back through nsenter, byte for byte.
describe('the system-CA scripts, run in mount namespaces laid out like Android 14', function () {
  this.timeout(60_000);
  const why = blocked();
  const dirs = tempDir();
  after(() => dirs.remove());

  it('installs over an older phonehome CA of the same name, for zygote and every app, and removes it from every namespace, even an app forked in between', async function () {
    if (why) skipForSystem(this, why);
    const ours = (await loadOrCreateCa(join(dirs.path, 'ca-ours'))).certPem;
    const older = (await loadOrCreateCa(join(dirs.path, 'ca-older'))).certPem;
    const name = androidCaFileName(ours);
    expect(androidCaFileName(older), 'two phonehome CAs share a file name').to.equal(name);

    const root = join(dirs.path, 'root');
    const at = (path: string) => join(root, path);
    for (const dir of [
      'bin',
      'etc',
      'dev',
      'data/local/tmp/phonehome-ca',
      'system/etc/security/cacerts',
      'apex/com.android.conscrypt/cacerts',
    ])
      mkdirSync(at(dir), { recursive: true });
    copyFileSync(BUSYBOX, at('bin/busybox'));
    for (const applet of APPLETS) symlinkSync('busybox', at(`bin/${applet}`));
    for (const program of ['zygote64', 'app']) {
      copyFileSync(join(FIXTURE, program), at(`bin/${program}`));
      chmodSync(at(`bin/${program}`), 0o755);
    }
    writeFileSync(at('etc/passwd'), 'root:x:0:0:root:/:/bin/sh\n');
    writeFileSync(at('etc/group'), 'root:x:0:\n');
    writeFileSync(at('dev/null'), '');
    // The phone's stores: two system CAs, and the older phonehome CA under our file name.
    for (const store of ['system/etc/security/cacerts', 'apex/com.android.conscrypt/cacerts']) {
      writeFileSync(at(`${store}/1a2b3c4d.0`), 'system CA one\n');
      writeFileSync(at(`${store}/5e6f7a8b.0`), 'system CA two\n');
      writeFileSync(at(`${store}/${name}`), older);
    }
    // What installSystemCa pushes, and what removeSystemCa pushes later.
    writeFileSync(at(`data/local/tmp/phonehome-ca/${name}`), ours);
    writeFileSync(at('data/local/tmp/phonehome-ca/install.sh'), installScript(name));
    writeFileSync(at('remove.sh'), removeScript(name));
    writeFileSync(at('ours.pem'), ours);
    writeFileSync(at('older.pem'), older);
    writeFileSync(at('name'), name);
    copyFileSync(join(FIXTURE, 'steps.sh'), at('steps.sh'));

    const out = execFileSync(
      'unshare',
      [
        '--mount',
        '--pid',
        '--propagation',
        'private',
        '--fork',
        '--kill-child',
        'bash',
        join(FIXTURE, 'enter.sh'),
        root,
      ],
      { encoding: 'utf8', timeout: 45_000, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lines = out.trim().split('\n');
    const mounts = (phase: string) =>
      Number(lines.find((l) => l.startsWith(`${phase} mounts:`))?.split(': ')[1]);
    const without = (phase: string) =>
      lines.filter((l) => l.startsWith(`${phase} `) && !l.startsWith(`${phase} mounts:`));
    expect(without('before')).to.deep.equal([
      'before zygote: older',
      'before app: older',
      'before app: older',
      'before shell: other',
    ]);
    expect(lines).to.include(`install: phonehome-ca: installed ${name}`);
    expect(without('installed')).to.deep.equal([
      'installed zygote: ours',
      'installed app: ours',
      'installed app: ours',
      'installed shell: ours',
    ]);
    expect(mounts('installed')).to.be.greaterThan(0);
    expect(without('forked')).to.deep.equal([
      'forked zygote: ours',
      'forked app: ours',
      'forked app: ours',
      'forked app: ours',
      'forked shell: ours',
    ]);
    // Installed means our certificate, byte for byte: now it is.
    expect(lines).to.include(`install again: phonehome-ca: already installed ${name}`);
    expect(lines).to.include(`remove: phonehome-ca: removed ${name}`);
    // Every namespace shows the phone's own store again, with the older CA where it was.
    expect(without('removed')).to.deep.equal([
      'removed zygote: older',
      'removed app: older',
      'removed app: older',
      'removed app: older',
      'removed shell: other',
    ]);
    expect(mounts('removed')).to.equal(0);
    expect(lines).to.include('work left: 0');
    // One bind over zygote's APEX store, not one more for each child still in its namespace.
    expect(lines.filter((l) => l.startsWith('stacked in zygote'))).to.deep.equal([
      'stacked in zygote before: 0',
      'stacked in zygote installed: 1',
      'stacked in zygote forked: 1',
      'stacked in zygote removed: 0',
    ]);
    // The scripts ran while zygote's name also named its children of the moment.
    expect(
      Number(lines.find((l) => l.startsWith('zygote64 named:'))?.split(': ')[1]),
    ).to.be.greaterThan(1);
  });
});
