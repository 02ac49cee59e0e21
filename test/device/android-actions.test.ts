import { expect } from 'chai';
import { join } from 'node:path';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import { tempDir } from '../support/temp.ts';
import { androidEntry, emulatorPhone, FakeAdb, rootedPhone, stockPhone } from './fake-adb.ts';
import { RecordingSession } from './recording-session.ts';

describe('android actions (fake adb, recorded UiAutomator2 session)', function () {
  this.timeout(60_000);
  const dirs = tempDir();
  let fake: FakeAdb;
  let undo: () => void;
  after(() => dirs.remove());
  afterEach(() => {
    undo();
    fake.remove();
  });

  it('on an emulator, injects an SMS and a call through UiAutomator2', async () => {
    fake = FakeAdb.create({ 'emulator-5554': emulatorPhone() });
    undo = fake.install();
    const session = new RecordingSession();
    const device = new AndroidDevice(androidEntry({ android: { callHoldMs: 0 } }), {
      stateDir: join(dirs.path, 's1'),
      tunnelCheckMs: 0,
    });
    const actions = device.actions(session);
    // The emulator's console fakes the scenario's own number: nothing else to search for.
    expect(await actions.receiveSms('+358401234567', 'hello')).to.equal(undefined);
    await actions.receiveCall('+358401234567');
    expect(session.calls).to.deep.equal([
      'mobile: sendSms {"phoneNumber":"+358401234567","message":"hello"}',
      'mobile: gsmCall {"phoneNumber":"+358401234567","action":"call"}',
      'mobile: gsmCall {"phoneNumber":"+358401234567","action":"accept"}',
      'mobile: gsmCall {"phoneNumber":"+358401234567","action":"cancel"}',
    ]);
  });

  it('on an emulator Appium takes for a phone (adb connect), uses the peer, never the console', async () => {
    // An AVD reached over TCP: emulator hardware, but its serial has no "emulator" in it, so
    // Appium's isEmulator() is false and `mobile: sendSms` would fail (no emulator console).
    fake = FakeAdb.create({
      '127.0.0.1:5555': emulatorPhone(),
      PEER0001: stockPhone({ phoneNumber: '+8613900000001' }),
    });
    undo = fake.install();
    const entry = androidEntry({
      serial: '127.0.0.1:5555',
      identifiers: { msisdn: ['+15555215554'] },
      android: { peer: { serial: 'PEER0001', phoneNumber: '+8613900000001' }, callHoldMs: 0 },
    });
    const session = new RecordingSession();
    const device = new AndroidDevice(entry, {
      stateDir: join(dirs.path, 's1-tcp'),
      tunnelCheckMs: 0,
    });
    await device.actions(session).receiveSms('+358401234567', 'hello');
    expect(session.calls.filter((call) => call.startsWith('mobile:'))).to.deep.equal([]);
    expect(fake.phone('127.0.0.1:5555').inbox).to.deep.equal([
      { from: '+8613900000001', kind: 'sms', text: 'hello' },
    ]);
  });

  it('on a real phone, a peer texts and calls it; its own texts go to the peer, never to a made-up number', async () => {
    fake = FakeAdb.create({
      R58M12345: rootedPhone(),
      PEER0001: stockPhone({ phoneNumber: '+8613900000001' }),
    });
    undo = fake.install();
    const entry = androidEntry({
      serial: 'R58M12345',
      identifiers: { msisdn: ['+8613912345678'] },
      android: { peer: { serial: 'PEER0001', phoneNumber: '+8613900000001' }, callHoldMs: 0 },
    });
    const device = new AndroidDevice(entry, { stateDir: join(dirs.path, 's2'), tunnelCheckMs: 0 });
    const actions = device.actions(new RecordingSession());
    // Each says the phone saw the peer's real number: the run searches for that, not the made-up one.
    const outcomes = [
      await actions.receiveSms('+358401234567', 'canary in'),
      await actions.sendSms('+358401234567', "canary 'out'"),
      await actions.receiveCall('+358401234567'),
    ];
    const peer = { planted: [{ kind: 'contact_number', value: '+8613900000001' }] };
    expect(outcomes).to.deep.equal([peer, peer, peer]);
    expect(fake.commands().slice(2)).to.deep.equal([
      "-s PEER0001 shell am start -W -a android.intent.action.SENDTO -d sms:+8613912345678 --es sms_body 'canary in' --ez exit_on_sent true",
      '-s PEER0001 shell input keyevent 22',
      '-s PEER0001 shell input keyevent 66',
      `-s R58M12345 shell am start -W -a android.intent.action.SENDTO -d sms:+8613900000001 --es sms_body 'canary '\\''out'\\''' --ez exit_on_sent true`,
      '-s R58M12345 shell input keyevent 22',
      '-s R58M12345 shell input keyevent 66',
      '-s PEER0001 shell am start -W -a android.intent.action.CALL -d tel:+8613912345678',
      '-s R58M12345 shell dumpsys telephony.registry',
      '-s R58M12345 shell input keyevent 5',
      '-s R58M12345 shell input keyevent 6',
      '-s PEER0001 shell input keyevent 6',
    ]);
    expect(fake.phone('R58M12345').inbox).to.deep.equal([
      { from: '+8613900000001', kind: 'sms', text: 'canary in' },
    ]);
    expect(fake.phone('PEER0001').inbox).to.deep.equal([
      { from: '+8613912345678', kind: 'sms', text: "canary 'out'" },
    ]);
  });

  it('adds a contact through the contacts provider, and deletes it at restore', async () => {
    fake = FakeAdb.create({ R58M12345: stockPhone() });
    undo = fake.install();
    const device = new AndroidDevice(androidEntry(), {
      stateDir: join(dirs.path, 's3'),
      tunnelCheckMs: 0,
    });
    await device.actions(new RecordingSession()).addContact('Ann Canary', '+358401234567');
    expect(fake.commands().slice(2)).to.deep.equal([
      '-s R58M12345 shell content query --uri content://com.android.contacts/raw_contacts --projection _id',
      '-s R58M12345 shell content insert --uri content://com.android.contacts/raw_contacts --bind account_type:s: --bind account_name:s:',
      '-s R58M12345 shell content query --uri content://com.android.contacts/raw_contacts --projection _id',
      "-s R58M12345 shell content insert --uri content://com.android.contacts/data --bind raw_contact_id:i:1 --bind mimetype:s:vnd.android.cursor.item/name --bind 'data1:s:Ann Canary'",
      '-s R58M12345 shell content insert --uri content://com.android.contacts/data --bind raw_contact_id:i:1 --bind mimetype:s:vnd.android.cursor.item/phone_v2 --bind data1:s:+358401234567 --bind data2:i:2',
    ]);
    expect(fake.phone('R58M12345').contacts!.raw).to.deep.equal([
      { id: 1, data: { name: 'Ann Canary', phone_v2: '+358401234567' } },
    ]);
    fake.clearLog();
    await device.restore();
    expect(fake.commands()).to.deep.equal([
      "-s R58M12345 shell content delete --uri 'content://com.android.contacts/raw_contacts?caller_is_syncadapter=true' --where _id=1",
      '-s R58M12345 shell content query --uri content://com.android.contacts/raw_contacts --projection _id --where _id=1',
    ]);
    expect(fake.phone('R58M12345').contacts!.raw).to.deep.equal([]);
  });

  it("adds a contact on an old `content` tool, and never deletes the user's own", async () => {
    // Android 6: no null bind type. The user has a contact of their own (id 7).
    const own = { id: 7, data: { name: 'Mum', phone_v2: '+358409999999' } };
    fake = FakeAdb.create({
      R58M12345: stockPhone({
        props: { ...stockPhone().props, 'ro.build.version.sdk': '23' },
        contacts: { nextId: 8, raw: [structuredClone(own)] },
      }),
    });
    undo = fake.install();
    const device = new AndroidDevice(androidEntry(), {
      stateDir: join(dirs.path, 's3-old'),
      tunnelCheckMs: 0,
    });
    await device.actions(new RecordingSession()).addContact('Ann Canary', '+358401234567');
    expect(fake.phone('R58M12345').contacts!.raw.map((c) => c.id)).to.deep.equal([7, 8]);
    await device.restore();
    expect(fake.phone('R58M12345').contacts!.raw).to.deep.equal([own]);
  });

  it('fails the step, deleting nothing, when `content` prints an [ERROR] and exits 0', async () => {
    const own = { id: 7, data: { name: 'Mum', phone_v2: '+358409999999' } };
    fake = FakeAdb.create({
      R58M12345: stockPhone({
        contacts: { nextId: 8, raw: [structuredClone(own)] },
        contactsRefuse: 'Unknown account type',
      }),
    });
    undo = fake.install();
    const device = new AndroidDevice(androidEntry(), {
      stateDir: join(dirs.path, 's3-refused'),
      tunnelCheckMs: 0,
    });
    let error: Error | undefined;
    try {
      await device.actions(new RecordingSession()).addContact('Ann Canary', '+358401234567');
    } catch (caught) {
      error = caught as Error;
    }
    expect(error?.message).to.match(
      /did not add the contact \(content said: Unknown account type\)/,
    );
    fake.clearLog();
    await device.restore();
    expect(fake.commands().filter((line) => /content delete/.test(line))).to.deep.equal([]);
    expect(fake.phone('R58M12345').contacts!.raw).to.deep.equal([own]);
  });

  it('flips a consent setting through the taps kept in devices.json', async () => {
    fake = FakeAdb.create({ R58M12345: stockPhone() });
    undo = fake.install();
    const session = new RecordingSession();
    const entry = androidEntry({
      android: {
        settings: {
          'cloud-messaging': {
            on: [
              { start: 'com.miui.cloudservice/.ui.MiCloudSettingsActivity' },
              { tap: { text: 'Cloud Messaging' } },
              { tap: { id: 'android:id/switch_widget' } },
              { key: 'BACK' },
            ],
          },
        },
      },
    });
    const device = new AndroidDevice(entry, { stateDir: join(dirs.path, 's4'), tunnelCheckMs: 0 });
    const actions = device.actions(session);
    await actions.setSetting('cloud-messaging', true);
    expect(session.calls).to.deep.equal([
      'find -android uiautomator new UiSelector().text("Cloud Messaging")',
      'click el-1',
      'find id android:id/switch_widget',
      'click el-3',
    ]);
    expect(fake.commands().slice(2)).to.deep.equal([
      '-s R58M12345 shell am start -W -n com.miui.cloudservice/.ui.MiCloudSettingsActivity',
      '-s R58M12345 shell input keyevent 4',
    ]);
    const error = await actions.setSetting('cloud-messaging', false).catch((e: unknown) => e);
    expect((error as Error).message).to.include(
      `"settings": { "cloud-messaging": { "on": [ … ], "off": [ … ] } }`,
    );
  });
});
