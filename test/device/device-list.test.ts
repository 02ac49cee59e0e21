import { expect } from 'chai';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { adbFor, createAdbExecutor, shell } from '../../src/device/android/adb-client.ts';
import { locateAdb } from '../../src/device/android/adb-locate.ts';
import { parseDeviceList, selectDevice } from '../../src/device/android/device-list.ts';
import { PhonehomeError } from '../../src/errors.ts';
import { tempDir } from '../support/temp.ts';
import { FakeAdb, FAKE_ADB_DIR, rootedPhone } from './fake-adb.ts';

const LIST = `List of devices attached
R58M12345              device usb:1-1 product:panther model:Pixel_7 device:panther transport_id:3
emulator-5554          unauthorized transport_id:4
0123456789ABCDEF       offline transport_id:5
ZY22ABCD               no permissions (missing udev rules? user is in the plugdev group); see [http://developer.android.com/tools/device.html] usb:1-2 transport_id:6

`;

describe('finding adb and the phone', () => {
  it('parses `adb devices -l` with every state', () => {
    const devices = parseDeviceList(LIST);
    expect(devices.map((d) => [d.serial, d.state])).to.deep.equal([
      ['R58M12345', 'device'],
      ['emulator-5554', 'unauthorized'],
      ['0123456789ABCDEF', 'offline'],
      ['ZY22ABCD', 'no permissions (missing udev rules? user is in the plugdev group)'],
    ]);
    expect(devices[0]!.details).to.include({ model: 'Pixel_7', transport_id: '3' });
  });

  const all = parseDeviceList(LIST);
  const selection: [
    name: string,
    devices: typeof all,
    serial: string | undefined,
    code: string | undefined,
    says: RegExp,
  ][] = [
    ['the serial from devices.json', all, 'R58M12345', undefined, /R58M12345/],
    ['the only one attached', [all[0]!], undefined, undefined, /R58M12345/],
    ['none attached', [], undefined, 'ADB_NO_DEVICE', /plug it in with USB debugging on/],
    ['several and no serial', all, undefined, 'ADB_SEVERAL_DEVICES', /add "serial"/],
    [
      'a serial adb does not see',
      all,
      'NOPE',
      'ADB_DEVICE_NOT_FOUND',
      /attached: R58M12345 \(device\)/,
    ],
    [
      'an unauthorized one',
      all,
      'emulator-5554',
      'ADB_UNAUTHORIZED',
      /accept the "Allow USB debugging\?" prompt/,
    ],
    ['an offline one', all, '0123456789ABCDEF', 'ADB_OFFLINE', /adb reconnect/],
    ['one without USB permissions', all, 'ZY22ABCD', 'ADB_NO_PERMISSIONS', /udev rule/],
  ];
  for (const [name, devices, serial, code, says] of selection) {
    it(`selects ${name}${code ? `: ${code}` : ''}`, () => {
      if (!code) {
        expect(selectDevice(devices, serial, 'pixel').serial).to.match(says);
        return;
      }
      try {
        selectDevice(devices, serial, 'pixel');
        expect.fail('no error');
      } catch (error) {
        expect(error).to.be.instanceOf(PhonehomeError).with.property('code', code);
        expect((error as Error).message).to.match(says);
      }
    });
  }

  describe('adb discovery', () => {
    const dirs = tempDir();
    const sdk = join(dirs.path, 'sdk');
    mkdirSync(join(sdk, 'platform-tools'), { recursive: true });
    writeFileSync(join(sdk, 'platform-tools', 'adb'), '#!/bin/sh\n');
    chmodSync(join(sdk, 'platform-tools', 'adb'), 0o755);
    after(() => dirs.remove());

    const rows: [name: string, env: Record<string, string>, found: string | RegExp][] = [
      [
        'ANDROID_HOME first',
        { ANDROID_HOME: sdk, ANDROID_SDK_ROOT: '/nowhere', PATH: FAKE_ADB_DIR },
        join(sdk, 'platform-tools', 'adb'),
      ],
      [
        'ANDROID_SDK_ROOT next',
        { ANDROID_SDK_ROOT: sdk, PATH: FAKE_ADB_DIR },
        join(sdk, 'platform-tools', 'adb'),
      ],
      ['PATH last', { PATH: `/nowhere:${FAKE_ADB_DIR}` }, join(FAKE_ADB_DIR, 'adb')],
      [
        'an SDK variable without adb: a plain error',
        { ANDROID_HOME: dirs.path, PATH: FAKE_ADB_DIR },
        /ANDROID_HOME is .* but .*platform-tools\/adb is not there/,
      ],
      [
        'nothing: a plain error',
        { PATH: '/nowhere' },
        /adb was not found: set ANDROID_HOME .* apt-get install adb/,
      ],
    ];
    for (const [name, env, found] of rows) {
      it(`finds adb through ${name}`, () => {
        if (typeof found === 'string') {
          expect(locateAdb(env).path).to.equal(found);
          return;
        }
        expect(() => locateAdb(env)).to.throw(PhonehomeError, found);
      });
    }
  });

  describe("adb's failures, mapped", function () {
    this.timeout(30_000);
    let fake: FakeAdb;
    let undo: () => void;
    beforeEach(() => {
      fake = FakeAdb.create({
        R58M12345: rootedPhone(),
        'emulator-5554': rootedPhone({ state: 'unauthorized' }),
        OFFLINE1: rootedPhone({ state: 'offline' }),
      });
      undo = fake.install();
    });
    afterEach(() => {
      undo();
      fake.remove();
    });

    const rows: [serial: string, code: string][] = [
      ['emulator-5554', 'ADB_UNAUTHORIZED'],
      ['OFFLINE1', 'ADB_OFFLINE'],
      ['GONE', 'ADB_DEVICE_NOT_FOUND'],
    ];
    for (const [serial, code] of rows) {
      it(`turns adb's message for ${serial} into ${code}`, async () => {
        const error = await shell(adbFor(serial, createAdbExecutor()), ['id']).catch(
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(PhonehomeError).with.property('code', code);
        expect(fake.commands()).to.deep.equal([`-s ${serial} shell id`]);
      });
    }

    it('returns the exit code of a command that failed on the phone, without calling it adb failure', async () => {
      const result = await createAdbExecutor()(['-s', 'R58M12345', 'shell', 'frobnicate']);
      expect(result.code).to.equal(127);
      expect(result.stderr).to.include('frobnicate: inaccessible or not found');
    });

    it('says adb cannot run when the path is wrong', async () => {
      const error = await createAdbExecutor('/nowhere/adb')(['devices']).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(PhonehomeError).with.property('code', 'ADB_NOT_FOUND');
    });
  });
});
