import { expect } from 'chai';
import { bodyStore } from '../../src/capture/bodies.ts';
import { dirname, join } from 'node:path';
import { remote } from 'webdriverio';
import { startAppium, type AppiumServer } from '../../src/appium/server.ts';
import { loadOrCreateCa, type CertificateAuthority } from '../../src/capture/ca.ts';
import { CaptureSession } from '../../src/capture/session.ts';
import { findDevice, loadDevices, type DeviceEntry } from '../../src/config/devices.ts';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import type { Device, DriverSession, PhoneActions, RouteContext } from '../../src/device/device.ts';
import { VirtualDevice } from '../../src/device/virtual.ts';
import { PhonehomeError } from '../../src/errors.ts';
import { JournalWriter } from '../../src/journal/writer.ts';
import { isIdentifierKind, type IdentifierKind } from '../../src/types.ts';
import { tempDir } from '../support/temp.ts';
import { androidEntry, FakeAdb, stockPhone } from './fake-adb.ts';
import { RecordingSession } from './recording-session.ts';

/** How the conformance suite drives one device kind. */
interface KindHarness {
  name: string;
  entry: DeviceEntry;
  create(): Device;
  /** Starts what the kind needs around it; returns the route context. */
  setUp(ca: CertificateAuthority, folder: string): Promise<RouteContext>;
  openSession(device: Device, context: RouteContext): Promise<DriverSession>;
  tearDown(): Promise<void>;
  /** What can be observed of the phone, where the kind has a phone to observe. */
  phoneState?(): unknown;
  /** Hardware identifiers the phone must report. */
  expectedIdentifiers: Partial<Record<IdentifierKind, string[]>>;
  /** Actions this kind cannot do in this setup: they must throw STEP_UNSUPPORTED. */
  unsupported: (keyof PhoneActions)[];
}

/** Every action with arguments a scenario would pass, in the F-Secure order. */
const ACTIONS: [keyof PhoneActions, unknown[]][] = [
  ['insertSim', []],
  ['setWifi', [true]],
  ['allowLocation', []],
  ['setLocation', [60.1699, 24.9384]],
  ['addContact', ['Conformance Canary', '+358401234567']],
  ['receiveSms', ['+358401234567', 'conformance sms in']],
  ['sendSms', ['+358401234567', 'conformance sms out']],
  ['receiveMms', ['+358401234567', 'conformance mms in']],
  ['sendMms', ['+358401234567', 'conformance mms out']],
  ['receiveCall', ['+358401234567']],
  ['makeCall', ['+358401234567']],
  ['cloudLogin', ['conformance@example.com']],
  ['setSetting', ['cloud-messaging', true]],
];

function virtualHarness(): KindHarness {
  const entry = findDevice(loadDevices(), 'virtual-redmi-1s-optin');
  let capture: CaptureSession | undefined;
  let journal: JournalWriter | undefined;
  let appium: AppiumServer | undefined;
  let session: WebdriverIO.Browser | undefined;
  return {
    name: 'virtual',
    entry,
    create: () => new VirtualDevice(entry),
    async setUp(ca, folder) {
      journal = JournalWriter.open(join(folder, `journal-${Date.now()}.ndjson`));
      capture = await CaptureSession.start({
        ca,
        journal,
        bodies: bodyStore(dirname(journal.path)),
        answers: { hosts: {}, otherwise: 'not-found' },
      });
      return {
        proxyPort: capture.port,
        proxyUrl: capture.proxyUrl,
        ca,
        runFolder: folder,
        log: () => {},
      };
    },
    async openSession(device, context) {
      if (device.appium.kind !== 'embedded') throw new Error('the virtual kind is embedded');
      appium = await startAppium({ useDrivers: device.appium.useDrivers });
      const url = new URL(appium.url);
      session = await remote({
        hostname: url.hostname,
        port: Number(url.port),
        logLevel: 'silent',
        capabilities: device.capabilities(context) as WebdriverIO.Capabilities,
      });
      return session;
    },
    async tearDown() {
      await session?.deleteSession();
      await appium?.stop();
      await capture?.stop();
      journal?.close();
      [session, appium, capture, journal] = [undefined, undefined, undefined, undefined];
    },
    expectedIdentifiers: { imei: entry.identifiers.imei!, imsi: entry.identifiers.imsi! },
    unsupported: [],
  };
}

function androidHarness(): KindHarness {
  const entry = androidEntry({ serial: 'R58M12345' });
  let fake: FakeAdb | undefined;
  let undo: (() => void) | undefined;
  let stateDir = '';
  return {
    name: 'android (stock phone, fake adb, no peer, no flows)',
    entry,
    create: () => new AndroidDevice(entry, { stateDir, tunnelCheckMs: 0 }),
    async setUp(ca, folder) {
      fake = FakeAdb.create({ R58M12345: stockPhone() });
      undo = fake.install();
      stateDir = join(folder, `state-${Date.now()}`);
      return {
        proxyPort: 8123,
        proxyUrl: 'http://127.0.0.1:8123',
        ca,
        runFolder: folder,
        log: () => {},
      };
    },
    async openSession() {
      return new RecordingSession({ 'mobile: isGpsEnabled': false });
    },
    async tearDown() {
      undo?.();
      fake?.remove();
    },
    phoneState() {
      const phone = fake!.phone('R58M12345');
      return {
        settings: phone.settings,
        reverse: phone.reverse,
        mounts: phone.mounts,
        contacts: phone.contacts?.raw ?? [],
      };
    },
    expectedIdentifiers: { imei: ['865432101234564'], imsi: ['460001234567890'] },
    // A real phone without a peer cannot get or make calls and messages; vendor screens need flows.
    unsupported: [
      'receiveSms',
      'sendSms',
      'receiveMms',
      'sendMms',
      'receiveCall',
      'makeCall',
      'cloudLogin',
      'setSetting',
    ],
  };
}

for (const make of [virtualHarness, androidHarness]) {
  const harness = make();
  describe(`device conformance: ${harness.name}`, function () {
    this.timeout(120_000);
    const dirs = tempDir();
    let ca: CertificateAuthority;
    let context: RouteContext;
    before(async () => {
      ca = await loadOrCreateCa(join(dirs.path, 'ca'));
    });
    beforeEach(async () => {
      context = await harness.setUp(ca, dirs.path);
    });
    afterEach(() => harness.tearDown());
    after(() => dirs.remove());

    it('says which Appium server it needs', () => {
      const device = harness.create();
      expect(['embedded', 'remote']).to.include(device.appium.kind);
      if (harness.entry.kind === 'android') {
        expect(device.appium).to.deep.include({ kind: 'embedded' });
        expect((device.appium as { allowInsecure?: string[] }).allowInsecure).to.include(
          'uiautomator2:adb_shell',
        );
      }
    });

    it('can be restored before routing, and twice', async () => {
      const device = harness.create();
      await device.restore();
      await device.restore();
    });

    it("keeps the entry's capabilities and names the platform", async () => {
      const device = harness.create();
      await device.route(context);
      try {
        const capabilities = device.capabilities(context);
        expect(capabilities).to.include(harness.entry.capabilities);
        expect(capabilities.platformName).to.equal('Android');
      } finally {
        await device.restore();
      }
    });

    it('reads identifiers of known kinds, with the phone’s hardware among them', async () => {
      const device = harness.create();
      await device.route(context);
      try {
        const values = await device.readIdentifiers(await harness.openSession(device, context));
        for (const [kind, list] of Object.entries(values)) {
          expect(isIdentifierKind(kind), kind).to.equal(true);
          for (const value of list!) expect(value).to.be.a('string').and.not.equal('');
        }
        expect(values).to.deep.include(harness.expectedIdentifiers);
      } finally {
        await device.restore();
      }
    });

    it('does every action, or refuses it with STEP_UNSUPPORTED saying why and how — never silently', async () => {
      const device = harness.create();
      await device.route(context);
      const refused: string[] = [];
      try {
        const actions = device.actions(
          await harness.openSession(device, context),
        ) as unknown as Record<string, (...args: unknown[]) => Promise<void>>;
        for (const [name, args] of ACTIONS) {
          try {
            await actions[name]!(...args);
          } catch (error) {
            expect(error, name)
              .to.be.instanceOf(PhonehomeError)
              .with.property('code', 'STEP_UNSUPPORTED');
            expect((error as Error).message, name).to.match(/cannot run on device '[^']+': .+; .+/);
            refused.push(name);
          }
        }
      } finally {
        await device.restore();
      }
      expect(refused).to.deep.equal(harness.unsupported);
    });

    it('leaves the phone as it was after routing and actions', async function () {
      if (!harness.phoneState) this.skip(); // nothing on a phone to observe for this kind
      const before = harness.phoneState!();
      const device = harness.create();
      await device.route(context);
      const actions = device.actions(await harness.openSession(device, context));
      await actions.setWifi(false);
      await actions.addContact('Conformance Canary', '+358401234567');
      expect(harness.phoneState!()).to.not.deep.equal(before);
      await device.restore();
      const after = harness.phoneState!() as { settings: { global: Record<string, string> } };
      // The proxy reads ":0" where it read "null": both mean none, and ":0" is the reliable reset.
      after.settings.global.http_proxy = 'null';
      expect(after).to.deep.equal(before);
    });
  });
}
