import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.ts';
import { loadOrCreateCa, type CertificateAuthority } from '../../src/capture/ca.ts';
import { restoreCommand } from '../../src/cli/restore.ts';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import { androidCaFileName } from '../../src/device/android/subject-hash.ts';
import type { RouteContext } from '../../src/device/device.ts';
import { PhonehomeError } from '../../src/errors.ts';
import { tempDir } from '../support/temp.ts';
import {
  androidEntry,
  emulatorPhone,
  FakeAdb,
  normalise,
  rootedPhone,
  stockPhone,
  type FakePhone,
  routeContext,
} from './fake-adb.ts';

const SERIAL = 'R58M12345';
const PORT = 8123;

/** What must be the same before a run and after its restore. */
function observable(phone: FakePhone) {
  return {
    settings: phone.settings,
    reverse: phone.reverse,
    mounts: phone.mounts,
    systemCerts: phone.systemCerts,
    adbdRoot: phone.adbdRoot,
    contacts: phone.contacts?.raw ?? [],
  };
}

describe('android device over adb (fake adb)', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  let ca: CertificateAuthority;
  let caFile: string;
  let fake: FakeAdb;
  let undoPath: () => void;
  let stateDir: string;
  let lines: string[];

  const context = (): RouteContext => routeContext(ca, dirs.path, (line) => lines.push(line), PORT);
  const device = (entry = androidEntry()) =>
    new AndroidDevice(entry, { stateDir, tunnelCheckMs: 0 });
  const use = (
    phones: Record<string, FakePhone>,
    failures: Parameters<typeof FakeAdb.create>[1] = [],
  ) => {
    fake = FakeAdb.create(phones, failures);
    undoPath = fake.install();
  };

  before(async () => {
    ca = await loadOrCreateCa(join(dirs.path, 'ca'));
    caFile = androidCaFileName(ca.certPem);
  });
  beforeEach(() => {
    stateDir = join(tempDir().path, 'state');
    lines = [];
  });
  afterEach(() => {
    undoPath?.();
    fake?.remove();
  });
  after(() => dirs.remove());

  const rootedRoute = [
    'devices -l',
    `-s ${SERIAL} shell getprop`,
    `-s ${SERIAL} shell id`,
    `-s ${SERIAL} shell su -mm -c id`,
    `-s ${SERIAL} shell su -c id`,
    `-s ${SERIAL} push <tmp>/${'CA'} /data/local/tmp/phonehome-ca/${'CA'}`,
    `-s ${SERIAL} push <tmp>/install.sh /data/local/tmp/phonehome-ca/install.sh`,
    `-s ${SERIAL} shell su -c 'sh /data/local/tmp/phonehome-ca/install.sh'`,
    `-s ${SERIAL} shell settings get global http_proxy`,
    `-s ${SERIAL} reverse tcp:${PORT} tcp:${PORT}`,
    `-s ${SERIAL} shell settings put global http_proxy 127.0.0.1:${PORT}`,
    `-s ${SERIAL} shell settings get global http_proxy`,
    `-s ${SERIAL} shell appops get io.appium.settings android:mock_location`,
  ];
  const rootedRestore = [
    `-s ${SERIAL} shell settings put global http_proxy :0`,
    `-s ${SERIAL} shell settings get global http_proxy`,
    `-s ${SERIAL} reverse --remove tcp:${PORT}`,
    `-s ${SERIAL} shell appops set io.appium.settings android:mock_location default`,
    `-s ${SERIAL} shell appops get io.appium.settings android:mock_location`,
    `-s ${SERIAL} push <tmp>/remove.sh /data/local/tmp/phonehome-ca/remove.sh`,
    `-s ${SERIAL} shell su -c 'sh /data/local/tmp/phonehome-ca/remove.sh'`,
  ];
  const withCa = (commands: string[]) => commands.map((c) => c.replaceAll('CA', caFile));

  it('routes a rooted Android 14 phone: system CA (with APEX), reverse tunnel, proxy — in that order', async () => {
    use({ [SERIAL]: rootedPhone() });
    const phone = device();
    await phone.route(context());
    expect(normalise(fake.commands())).to.deep.equal(withCa(rootedRoute));
    const after = fake.phone(SERIAL);
    expect(after.settings.global!.http_proxy).to.equal(`127.0.0.1:${PORT}`);
    expect(after.reverse).to.deep.equal([PORT]);
    expect(after.systemCerts).to.include(caFile);
    expect(after.mounts).to.have.length(2); // tmpfs over /system…/cacerts, bind over the APEX store
    const record = JSON.parse(readFileSync(join(stateDir, `${SERIAL}.json`), 'utf8'));
    expect(record.changes).to.deep.equal([
      { kind: 'system-ca', fileName: caFile, root: 'su-c' },
      { kind: 'reverse', port: PORT },
      { kind: 'proxy', previous: 'null' },
      { kind: 'mock-location', previous: 'default' },
    ]);
    await phone.restore();
  });

  it('restores it: proxy first with ":0", then the tunnel, then the CA; the phone is as before', async () => {
    use({ [SERIAL]: rootedPhone() });
    const before = observable(fake.phone(SERIAL));
    const phone = device();
    await phone.route(context());
    fake.clearLog();
    await phone.restore();
    expect(normalise(fake.commands())).to.deep.equal(rootedRestore);
    expect(observable(fake.phone(SERIAL))).to.deep.equal({
      ...before,
      settings: { ...before.settings, global: { ...before.settings.global, http_proxy: ':0' } },
    });
    expect(existsSync(join(stateDir, `${SERIAL}.json`))).to.equal(false);
  });

  it('puts back a proxy the user had, instead of clearing it', async () => {
    const phoneModel = rootedPhone({ su: null });
    phoneModel.settings.global!.http_proxy = 'proxy.corp.example:3128';
    use({ [SERIAL]: phoneModel });
    const phone = device();
    await phone.route(context());
    await phone.restore();
    expect(fake.phone(SERIAL).settings.global!.http_proxy).to.equal('proxy.corp.example:3128');
    expect(lines.join('\n')).to.include('had its own proxy (proxy.corp.example:3128)');
  });

  it('on a stock phone: no root, so no CA change; says which apps stay unreadable', async () => {
    use({ [SERIAL]: stockPhone() });
    const phone = device();
    await phone.route(context());
    expect(normalise(fake.commands())).to.deep.equal([
      'devices -l',
      `-s ${SERIAL} shell getprop`,
      `-s ${SERIAL} shell id`,
      `-s ${SERIAL} shell su -mm -c id`,
      `-s ${SERIAL} shell su -c id`,
      `-s ${SERIAL} shell su 0 sh -c id`,
      `-s ${SERIAL} shell settings get global http_proxy`,
      `-s ${SERIAL} reverse tcp:${PORT} tcp:${PORT}`,
      `-s ${SERIAL} shell settings put global http_proxy 127.0.0.1:${PORT}`,
      `-s ${SERIAL} shell settings get global http_proxy`,
      `-s ${SERIAL} shell appops get io.appium.settings android:mock_location`,
    ]);
    expect(phone.notes.join('\n')).to.match(/Only apps that trust user-installed CAs can be read/);
    expect(phone.notes.join('\n')).to.match(/apps that ignore the system proxy/);
    fake.clearLog();
    await phone.restore();
    expect(fake.commands()).to.deep.equal(rootedRestore.slice(0, 5));
  });

  it('on an emulator with AOSP su: runs the CA script through `su 0`', async () => {
    use({ 'emulator-5554': emulatorPhone() });
    const phone = device();
    await phone.route(context());
    const commands = normalise(fake.commands());
    expect(commands.slice(2, 6)).to.deep.equal([
      '-s emulator-5554 shell id',
      '-s emulator-5554 shell su -mm -c id',
      '-s emulator-5554 shell su -c id',
      '-s emulator-5554 shell su 0 sh -c id',
    ]);
    expect(commands[8]).to.equal(
      `-s emulator-5554 shell su 0 sh -c 'sh /data/local/tmp/phonehome-ca/install.sh'`,
    );
    expect(phone.capabilities(context())).to.include({
      'appium:udid': 'emulator-5554',
      'appium:automationName': 'UiAutomator2',
      'appium:noReset': true,
    });
    await phone.restore();
    expect(fake.phone('emulator-5554').systemCerts).to.not.include(caFile);
  });

  it('on a userdebug build without su: `adb root` (recorded first), and `adb unroot` last at restore', async () => {
    use({ [SERIAL]: stockPhone({ props: { ...stockPhone().props, 'ro.debuggable': '1' } }) });
    const phone = device();
    await phone.route(context());
    expect(normalise(fake.commands()).slice(6, 12)).to.deep.equal([
      `-s ${SERIAL} root`,
      `-s ${SERIAL} wait-for-device`,
      `-s ${SERIAL} shell id`,
      `-s ${SERIAL} push <tmp>/${caFile} /data/local/tmp/phonehome-ca/${caFile}`,
      `-s ${SERIAL} push <tmp>/install.sh /data/local/tmp/phonehome-ca/install.sh`,
      `-s ${SERIAL} shell sh /data/local/tmp/phonehome-ca/install.sh`,
    ]);
    fake.clearLog();
    await phone.restore();
    expect(normalise(fake.commands())).to.deep.equal([
      ...rootedRestore.slice(0, 5),
      `-s ${SERIAL} push <tmp>/remove.sh /data/local/tmp/phonehome-ca/remove.sh`,
      `-s ${SERIAL} shell sh /data/local/tmp/phonehome-ca/remove.sh`,
      `-s ${SERIAL} unroot`,
      `-s ${SERIAL} wait-for-device`,
    ]);
    expect(fake.phone(SERIAL).adbdRoot).to.equal(false);
  });

  it('restores what was recorded when routing fails half-way (reverse refused)', async () => {
    use({ [SERIAL]: stockPhone() }, [
      {
        match: `reverse tcp:${PORT}`,
        stderr: 'adb: error: cannot bind listener: Address already in use\n',
        code: 1,
      },
    ]);
    const phone = device();
    const error = await phone.route(context()).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(PhonehomeError).with.property('code', 'ADB_FAILED');
    fake.clearLog();
    await phone.restore();
    // The tunnel was recorded before it was tried; the proxy was never touched.
    expect(fake.commands()).to.deep.equal([`-s ${SERIAL} reverse --remove tcp:${PORT}`]);
    expect(fake.phone(SERIAL).settings.global!.http_proxy).to.equal('null');
    expect(existsSync(join(stateDir, `${SERIAL}.json`))).to.equal(false);
  });

  it('fails routing when the phone ignores the proxy setting, and still leaves no proxy', async () => {
    use({ [SERIAL]: stockPhone({ blockSettingsPut: true }) });
    const phone = device();
    const error = await phone.route(context()).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(PhonehomeError).with.property('code', 'PROXY_SETTING');
    expect((error as Error).message).to.include('USB debugging (Security settings)');
    await phone.restore();
    expect(fake.phone(SERIAL).settings.global!.http_proxy).to.equal('null');
    expect(fake.phone(SERIAL).reverse).to.deep.equal([]);
  });

  it('is safe to restore twice, and after a route that found no phone', async () => {
    use({ [SERIAL]: stockPhone() });
    const phone = device();
    await phone.route(context());
    await phone.restore();
    fake.clearLog();
    await phone.restore();
    expect(fake.commands()).to.deep.equal([]);

    undoPath();
    fake.remove();
    use({});
    const lost = device();
    const error = await lost.route(context()).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(PhonehomeError).with.property('code', 'ADB_NO_DEVICE');
    await lost.restore();
    expect(fake.commands()).to.deep.equal(['devices -l']);
  });

  it('re-creates the reverse tunnel when adb dropped it', async () => {
    use({ [SERIAL]: stockPhone() });
    const phone = device();
    await phone.route(context());
    fake.update((model) => (model.devices[SERIAL]!.reverse = []));
    fake.clearLog();
    expect(await phone.reassertTunnel()).to.equal(true);
    expect(await phone.reassertTunnel()).to.equal(false);
    expect(fake.commands()).to.deep.equal([
      `-s ${SERIAL} reverse --list`,
      `-s ${SERIAL} reverse tcp:${PORT} tcp:${PORT}`,
      `-s ${SERIAL} reverse --list`,
    ]);
    expect(lines.join('\n')).to.include('re-created it');
    await phone.restore();
  });

  describe('when the run is signalled or killed', () => {
    const child = (): {
      process: ChildProcess;
      routed: Promise<void>;
      ended: Promise<number | null>;
    } => {
      const script = join(PROJECT_ROOT, 'test', 'fixtures', 'fake-adb', 'route-and-wait.ts');
      const proc = spawn(
        process.execPath,
        ['--import', 'tsx', script, stateDir, join(dirs.path, 'ca'), String(PORT)],
        {
          cwd: PROJECT_ROOT,
          env: { ...process.env, ...fake.env },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let err = '';
      proc.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
      const routed = new Promise<void>((resolve, reject) => {
        proc.stdout!.on(
          'data',
          (chunk: Buffer) => chunk.toString().includes('routed') && resolve(),
        );
        proc.on('close', (code) =>
          reject(new Error(`the child ended (${code}) before routing: ${err}`)),
        );
      });
      const ended = new Promise<number | null>((resolve) =>
        proc.on('close', (code) => resolve(code)),
      );
      return { process: proc, routed, ended };
    };

    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      it(`restores the phone on ${signal}`, async () => {
        use({ [SERIAL]: rootedPhone() });
        const before = observable(fake.phone(SERIAL));
        const run = child();
        await run.routed;
        fake.clearLog();
        run.process.kill(signal);
        expect(await run.ended).to.equal(signal === 'SIGINT' ? 130 : 143);
        expect(normalise(fake.commands())).to.deep.equal(rootedRestore);
        expect(observable(fake.phone(SERIAL)).reverse).to.deep.equal(before.reverse);
        expect(fake.phone(SERIAL).settings.global!.http_proxy).to.equal(':0');
        expect(existsSync(join(stateDir, `${SERIAL}.json`))).to.equal(false);
      });
    }

    it('after SIGKILL, the next run restores the phone before changing anything', async () => {
      use({ [SERIAL]: rootedPhone() });
      const run = child();
      await run.routed;
      run.process.kill('SIGKILL');
      await run.ended;
      expect(fake.phone(SERIAL).settings.global!.http_proxy).to.equal(`127.0.0.1:${PORT}`);
      const left = JSON.parse(readFileSync(join(stateDir, `${SERIAL}.json`), 'utf8'));
      expect(left.changes.map((c: { kind: string }) => c.kind)).to.deep.equal([
        'system-ca',
        'reverse',
        'proxy',
        'mock-location',
      ]);

      fake.clearLog();
      const next = device();
      await next.route(context());
      expect(normalise(fake.commands())).to.deep.equal(
        withCa([...rootedRoute.slice(0, 2), ...rootedRestore, ...rootedRoute.slice(2)]),
      );
      expect(lines.join('\n')).to.match(/an earlier run \(pid \d+\) did not restore R58M12345/);
      await next.restore();
    });

    it('after SIGKILL, `phonehome restore --device` restores the phone', async () => {
      use({ [SERIAL]: rootedPhone() });
      const run = child();
      await run.routed;
      run.process.kill('SIGKILL');
      await run.ended;
      const devicesFile = join(dirs.path, 'devices.json');
      writeFileSync(
        devicesFile,
        JSON.stringify({
          devices: [{ id: 'pixel', kind: 'android', serial: SERIAL, capabilities: {} }],
        }),
      );
      fake.clearLog();
      const code = await restoreCommand([
        '--device',
        'pixel',
        '--devices-file',
        devicesFile,
        '--state-dir',
        stateDir,
      ]);
      expect(code).to.equal(0);
      expect(normalise(fake.commands())).to.deep.equal(['devices -l', ...rootedRestore]);
      expect(existsSync(join(stateDir, `${SERIAL}.json`))).to.equal(false);
      fake.clearLog();
      expect(
        await restoreCommand([
          '--device',
          'pixel',
          '--devices-file',
          devicesFile,
          '--state-dir',
          stateDir,
        ]),
      ).to.equal(0);
      expect(fake.commands()).to.deep.equal(['devices -l']);
    });

    it('refuses to touch a phone whose record belongs to a live run', async () => {
      use({ [SERIAL]: stockPhone() });
      const holder = device();
      await holder.route(context());
      const record = join(stateDir, `${SERIAL}.json`);
      const state = JSON.parse(readFileSync(record, 'utf8'));
      writeFileSync(record, JSON.stringify({ ...state, pid: process.ppid }));
      fake.clearLog();
      const error = await device()
        .route(context())
        .catch((e: unknown) => e);
      expect(error).to.be.instanceOf(PhonehomeError).with.property('code', 'DEVICE_BUSY');
      expect(fake.commands()).to.deep.equal(['devices -l', `-s ${SERIAL} shell getprop`]);
      writeFileSync(record, JSON.stringify(state));
      await holder.restore();
    });
  });
});
