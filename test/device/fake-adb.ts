import { readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.ts';
import type { DeviceEntry } from '../../src/config/devices.ts';
import type { RouteContext } from '../../src/device/device.ts';
import { loadOrCreateCa } from '../../src/capture/ca.ts';
import type { CertificateAuthority } from '../../src/types.ts';
import { tempDir } from '../support/temp.ts';
import { REPLY } from './parcel-replies.ts';

/** The folder holding the fake `adb` (a test fake; see its header). */
export const FAKE_ADB_DIR = join(PROJECT_ROOT, 'test', 'fixtures', 'fake-adb');

/** One phone in the fake's model (test/fixtures/fake-adb/fake-adb.mjs reads and writes it). */
export interface FakePhone {
  state: 'device' | 'unauthorized' | 'offline';
  props: Record<string, string>;
  settings: Record<string, Record<string, string>>;
  reverse: number[];
  files: Record<string, string>;
  mounts: string[];
  systemCerts: string[];
  /** Which su the phone has: a root manager's (`su -c`), AOSP's debug su (`su 0`), or none. */
  su: 'su-c' | 'su-0' | null;
  /** After `adb root`, how many shell commands the old adbd still answers, as shell. */
  rootLagAfterRoot?: number;
  rootLag?: number;
  /** Its su takes `-mm` (--mount-master), as Magisk's does. */
  suMountMaster?: boolean;
  /** su that never answers (a root manager's prompt nobody accepts). */
  suHangs?: boolean;
  adbdRoot: boolean;
  /** Replies to `service call iphonesubinfo <these words>`. */
  iphonesubinfo: Record<string, string>;
  wlan0: string | null;
  phoneNumber?: string;
  contacts?: { nextId: number; raw: { id: number; data: Record<string, string> }[] };
  /** App-ops by "<package> <op>" (`appops get/set`); absent is the default. */
  appops?: Record<string, string>;
  /** Running services by component (`am stopservice` stops one). */
  services?: string[];
  /** A contacts provider whose `content delete` silently deletes nothing. */
  contactsKeep?: boolean;
  /** Installed packages (`pm path`). */
  packages?: string[];
  /**
   * PCAPdroid's capture: whether the user allows it, whether it runs, with which extras, its
   * versionCode (default 79), and the phone path of the dump it writes (`pcap_name`), whose bytes
   * are the host file `FakeAdb.dumpFile(serial)`.
   */
  pcapdroid?: {
    consent: 'allow' | 'never';
    running?: boolean;
    extras?: Record<string, string>;
    versionCode?: number;
    dump?: string;
    /** The first `exec-out tail` of the dump ends after this many bytes (a cable pulled). */
    dropAfter?: number;
  };
  /** The phone's clock ahead of the host's, in ms (`date +%s%N`). */
  clockSkewMs?: number;
  /** Linux uids of `packages` (`pm list packages -U`); unlisted ones get 10000 + their index. */
  uids?: Record<string, number>;
  /** A contacts provider whose `content insert` prints this [ERROR] (exit 0) and adds nothing. */
  contactsRefuse?: string;
  callState?: number;
  calls?: string[];
  sent?: { to: string; kind: string; text: string }[];
  inbox?: { from?: string; kind: string; text: string }[];
  nc?: boolean;
  /** The text of settings_ssaid.xml (each app's Android ID), readable as root only. */
  ssaid?: string;
  /** iptables chains by "<binary> <table>" (e.g. "iptables nat"), each chain's rules as words. */
  iptables?: Record<string, Record<string, string[]>>;
  /** A vendor build that silently ignores `settings put`. */
  blockSettingsPut?: boolean;
}

export interface FakeModel {
  devices: Record<string, FakePhone>;
  /** Injected failures: the first rule whose regex matches the command line answers instead. */
  failures?: { match: string; stdout?: string; stderr?: string; code?: number; times?: number }[];
}

const SHELL = 's16 com.android.shell';

/** A rooted (Magisk-style `su -c`) Android 14 phone with a SIM. */
export function rootedPhone(overrides: Partial<FakePhone> = {}): FakePhone {
  return {
    state: 'device',
    props: {
      'ro.build.version.sdk': '34',
      'ro.build.version.release': '14',
      'ro.build.display.id': 'UP1A.231005.007',
      'ro.product.model': 'Pixel 7',
      'ro.product.manufacturer': 'Google',
      'ro.product.name': 'panther',
      'ro.serialno': 'R58M12345',
      'ro.debuggable': '0',
      'gsm.operator.alpha': 'China Mobile',
      'gsm.sim.operator.alpha': 'China Mobile',
      'gsm.sim.operator.numeric': '46000',
      'gsm.sim.state': 'READY',
    },
    settings: {
      global: { http_proxy: 'null', wifi_on: '1' },
      secure: { android_id: '9774d56d682e549c', location_mode: '0' },
      system: {},
    },
    reverse: [],
    files: {},
    mounts: [],
    systemCerts: ['5ed36f99.0'],
    su: 'su-c',
    adbdRoot: false,
    iphonesubinfo: {
      [`1 ${SHELL}`]: REPLY.imei,
      [`8 ${SHELL}`]: REPLY.imsi,
      [`12 ${SHELL}`]: REPLY.iccid,
      [`15 ${SHELL}`]: REPLY.msisdn,
    },
    wlan0: '64:09:80:12:34:56',
    phoneNumber: '+8613912345678',
    nc: true,
    ...overrides,
  };
}

/** A stock (not rooted, production build) Android 14 phone. */
export function stockPhone(overrides: Partial<FakePhone> = {}): FakePhone {
  return rootedPhone({ su: null, ...overrides });
}

/** An Android 14 emulator (Google APIs image): debuggable, AOSP's `su 0`. */
export function emulatorPhone(overrides: Partial<FakePhone> = {}): FakePhone {
  const base = rootedPhone();
  return {
    ...base,
    props: {
      ...base.props,
      'ro.kernel.qemu': '1',
      'ro.debuggable': '1',
      'ro.serialno': 'EMULATOR34X1X1X0',
      'ro.product.model': 'sdk_gphone64_x86_64',
      'gsm.operator.alpha': 'Android',
      'gsm.sim.operator.alpha': 'Android',
      'gsm.sim.operator.numeric': '310260',
    },
    su: 'su-0',
    iphonesubinfo: {},
    phoneNumber: '+15555215554',
    ...overrides,
  };
}

/**
 * The fake adb for one test: a private folder with the model and the command log, and the
 * environment that puts the fake first on PATH (with ANDROID_HOME and ANDROID_SDK_ROOT unset, so
 * discovery finds it the way it finds Debian's adb).
 *
 * @example
 *   const fake = FakeAdb.create({ R58M12345: rootedPhone() });
 *   const undo = fake.install();
 *   … fake.commands() …
 *   undo(); fake.remove();
 */
export class FakeAdb {
  readonly dir: string;
  readonly statePath: string;
  readonly logPath: string;
  private readonly removeDir: () => void;

  private constructor(model: FakeModel) {
    const dir = tempDir('phonehome-fake-adb-');
    this.dir = dir.path;
    this.removeDir = dir.remove;
    this.statePath = join(dir.path, 'model.json');
    this.logPath = join(dir.path, 'commands.ndjson');
    writeFileSync(this.statePath, JSON.stringify(model, null, 2));
    writeFileSync(this.logPath, '');
  }

  static create(devices: Record<string, FakePhone>, failures: FakeModel['failures'] = []): FakeAdb {
    return new FakeAdb({ devices, failures });
  }

  /** Environment for a child process that should use the fake. */
  get env(): Record<string, string> {
    return {
      PATH: `${FAKE_ADB_DIR}${delimiter}${process.env.PATH ?? ''}`,
      FAKE_ADB_STATE: this.statePath,
      FAKE_ADB_LOG: this.logPath,
      ANDROID_HOME: '',
      ANDROID_SDK_ROOT: '',
    };
  }

  /** Puts the fake first on this process's PATH; returns the function that undoes it. */
  install(): () => void {
    const saved: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(this.env)) {
      saved[name] = process.env[name];
      if (value === '') delete process.env[name];
      else process.env[name] = value;
    }
    return () => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    };
  }

  /** Every adb invocation so far, as command lines (arguments joined by spaces). */
  commands(): string[] {
    return readFileSync(this.logPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as string[]).join(' '));
  }

  clearLog(): void {
    writeFileSync(this.logPath, '');
  }

  model(): FakeModel {
    return JSON.parse(readFileSync(this.statePath, 'utf8')) as FakeModel;
  }

  /** The host file holding the bytes of the PCAPdroid dump on the phone `serial`. */
  dumpFile(serial: string): string {
    return `${this.statePath}.${serial}.dump.pcap`;
  }

  phone(serial: string): FakePhone {
    return this.model().devices[serial]!;
  }

  update(change: (model: FakeModel) => void): void {
    const model = this.model();
    change(model);
    writeFileSync(this.statePath, JSON.stringify(model, null, 2));
  }

  remove(): void {
    this.removeDir();
  }
}

/** A devices.json entry of kind android, for tests. */
export function androidEntry(overrides: Partial<DeviceEntry> = {}): DeviceEntry {
  return {
    id: 'pixel',
    kind: 'android',
    capabilities: {},
    identifiers: {},
    settle: { quietMs: 0, maxMs: 0 },
    ...overrides,
  };
}

/** Command lines with the random host folder of pushed files replaced by <tmp>. */
export function normalise(commands: string[]): string[] {
  return commands.map((line) => line.replace(/\S*phonehome-push-[^/]+\//g, '<tmp>/'));
}

/**
 * What a device is routed with in these tests: the proxy on 127.0.0.1:`port` (which adb reverse
 * would tunnel to; the fake only records it), the run's CA and folder, and where log lines go.
 */
export function routeContext(
  ca: CertificateAuthority,
  runFolder: string,
  log: (line: string) => void = () => undefined,
  port = 8123,
): RouteContext {
  return { proxyPort: port, proxyUrl: `http://127.0.0.1:${port}`, ca, runFolder, log };
}

/**
 * The fake adb for one describe block's tests (call it in the block): `use(phones, failures)`
 * makes a fake with these phones and puts it first on PATH until the test ends; `ca()` is a CA
 * made once in the suite's folder `dirs`, which goes when the block is done.
 *
 * @example
 *   const suite = fakeAdbSuite();
 *   it('…', async () => { const fake = suite.use({ R58M12345: stockPhone() }); … });
 */
export function fakeAdbSuite(): {
  dirs: { path: string };
  ca: () => CertificateAuthority;
  use: (
    phones: Record<string, FakePhone>,
    failures?: Parameters<typeof FakeAdb.create>[1],
  ) => FakeAdb;
} {
  const dirs = tempDir();
  let ca: CertificateAuthority | undefined;
  let current: { fake: FakeAdb; undo: () => void } | undefined;
  const drop = () => {
    current?.undo();
    current?.fake.remove();
    current = undefined;
  };
  before(async () => {
    ca = await loadOrCreateCa(join(dirs.path, 'ca'));
  });
  afterEach(drop);
  after(() => dirs.remove());
  return {
    dirs,
    ca: () => {
      if (!ca) throw new Error('fakeAdbSuite: the CA is made in a before hook; use it in tests');
      return ca;
    },
    use: (phones, failures = []) => {
      drop();
      const fake = FakeAdb.create(phones, failures);
      current = { fake, undo: fake.install() };
      return fake;
    },
  };
}
