import type { AndroidOptions } from '../../config/devices.ts';
import { isWirelessAdb } from './versions.ts';
import { PhonehomeError } from '../../errors.ts';
import { wifiIsOn } from './wifi.ts';
import type { ActionOutcome, DriverSession, PhoneActions } from '../device.ts';
import { shell, type Adb } from './adb-client.ts';
import type { PhoneFacts } from './getprop.ts';
import type { ChangeRecord } from './restore-state.ts';
import { runFlow } from './ui-flow.ts';

export interface AndroidActionsContext {
  session: DriverSession;
  adb: Adb;
  /** The peer phone, when devices.json declares one. */
  peer?: Adb;
  facts: PhoneFacts;
  deviceId: string;
  options: AndroidOptions;
  /** This phone's own number (devices.json, else read from the SIM), for the peer to reach it. */
  ownNumber: () => Promise<string | undefined>;
  /** Where changes to undo at the end are written before they are made. */
  record: () => ChangeRecord;
  log: (line: string) => void;
}

const DEFAULT_SEND_KEYS = ['22', '66']; // DPAD_RIGHT to the send button, ENTER to press it
const CONTACTS = 'content://com.android.contacts';

/**
 * The scenario's user actions on a phone over USB: UiAutomator2's `mobile:` commands where they
 * exist, adb for the rest, a peer phone for what a real phone cannot fake (an incoming SMS or
 * call). Emulators get SMS and calls injected through their console. A real phone never texts
 * or calls a scenario's made-up number (that could be a stranger's): it texts and calls the peer.
 *
 * @example
 *   const actions = androidActions({ session, adb, facts, deviceId, options, ownNumber, record, log });
 *   await actions.addContact('Ann Canary', '+358401234567');
 */
/** The ids of the phone's raw contacts. */
async function rawContactIds(adb: Adb): Promise<number[]> {
  const rows = await shell(adb, [
    'content',
    'query',
    '--uri',
    `${CONTACTS}/raw_contacts`,
    '--projection',
    '_id',
  ]);
  const said = contentError(rows);
  if (said) {
    throw new PhonehomeError(
      'STEP_FAILED',
      `the contacts provider of ${adb.serial} cannot be read (content said: ${said}); add the contact by hand`,
    );
  }
  return [...rows.matchAll(/\b_id=(\d+)/g)].map((match) => Number(match[1]));
}

/** The error `content` printed on stdout (it exits 0 on errors), if it printed one. */
function contentError(output: string): string | undefined {
  const error = /^\[ERROR\]\s*(.*)$/m.exec(output)?.[1];
  if (error !== undefined) return error.trim() || 'an error';
  if (/^usage:/im.test(output)) return 'its usage (a bad argument)';
  return undefined;
}

export function androidActions(context: AndroidActionsContext): PhoneActions {
  const { session, adb, facts, options, log } = context;
  const execute = (script: string, args: Record<string, unknown> = {}) =>
    session.execute(script, args);
  let wifiRecorded = false;
  let locationRecorded = false;
  let mockRecorded = false;

  const unsupported = (step: string, why: string, how: string) =>
    new PhonehomeError(
      'STEP_UNSUPPORTED',
      `'${step}' cannot run on device '${context.deviceId}': ${why}; ${how}`,
    );

  const needPeer = (step: string, why: string) => {
    if (context.peer) return context.peer;
    throw unsupported(
      step,
      why,
      'declare a second phone on USB as "android": { "peer": { "serial": "…", "phoneNumber": "…" } } in devices.json',
    );
  };

  const needOwnNumber = async (step: string) => {
    const number = options.phoneNumber ?? (await context.ownNumber());
    if (number) return number;
    throw unsupported(
      step,
      "the peer needs this phone's number and the SIM does not tell it",
      'add "android": { "phoneNumber": "+…" } (or identifiers.msisdn) to its entry in devices.json',
    );
  };

  /**
   * The peer's own number: what this phone sees as the sender or caller (and keeps in its
   * messages and call log), so it is searched for like the scenario's own numbers.
   */
  const peerNumber = (step: string, peer: Adb, why: string) => {
    const number = options.peer?.phoneNumber;
    if (number) return number;
    throw unsupported(
      step,
      `the peer ${peer.serial} has no phone number in devices.json, and ${why}`,
      'add "phoneNumber" to "android.peer" in devices.json',
    );
  };

  /** The peer's number, planted: the phone under test now holds it. */
  const sawPeer = (number: string): ActionOutcome => ({
    planted: [{ kind: 'contact_number', value: number }],
  });

  /** On a real phone, outgoing messages and calls go to the peer only. */
  const outgoingTarget = (step: string, to: string) => {
    if (facts.console) return { number: to };
    const peer = needPeer(
      step,
      `a real phone would send to the scenario's made-up number ${to}, which may belong to a stranger`,
    );
    const number = peerNumber(step, peer, 'a real phone sends to the peer only');
    log(`  ${step}: a real phone sends to the peer ${number} instead of ${to}`);
    return { number, outcome: sawPeer(number) };
  };

  /** The peer's number for a message or call it makes to this phone. */
  const incomingFrom = (step: string, peer: Adb) =>
    sawPeer(
      peerNumber(
        step,
        peer,
        "this phone sees the peer's number, not the scenario's, which phonehome must search for",
      ),
    );

  const compose = async (on: Adb, kind: 'sms' | 'mms', to: string, text: string) => {
    const extras =
      kind === 'sms'
        ? ['-d', `sms:${to}`, '--es', 'sms_body', text, '--ez', 'exit_on_sent', 'true']
        : ['-d', `mmsto:${to}`, '--es', 'sms_body', text, '--es', 'subject', 'phonehome'];
    await shell(on, ['am', 'start', '-W', '-a', 'android.intent.action.SENDTO', ...extras]);
    for (const key of options.sendKeys ?? DEFAULT_SEND_KEYS) {
      await shell(on, ['input', 'keyevent', key]);
    }
  };

  const hold = () => new Promise((resolve) => setTimeout(resolve, options.callHoldMs ?? 5000));

  const dial = (on: Adb, number: string) =>
    shell(on, ['am', 'start', '-W', '-a', 'android.intent.action.CALL', '-d', `tel:${number}`]);

  const waitRinging = async () => {
    for (let attempt = 0; attempt < 30; attempt += 1) {
      if (/mCallState=1\b/.test(await shell(adb, ['dumpsys', 'telephony.registry']))) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    throw new PhonehomeError(
      'STEP_FAILED',
      `the peer called ${context.deviceId}, but it did not ring within 30 s; check both phones have signal and the number in devices.json`,
    );
  };

  return {
    async insertSim() {
      const states = (await shell(adb, ['getprop', 'gsm.sim.state'])).trim();
      if (/\b(READY|LOADED)\b/.test(states)) {
        // Nothing happened: said beside the step in every report, never a silent no-op.
        return {
          skipped:
            'a SIM was already in and ready, and software cannot insert one: what the phone sends when a SIM goes in happened before this run (insert it by hand during `phonehome capture` to see that)',
        };
      }
      throw unsupported(
        'insert SIM',
        `no SIM is ready (gsm.sim.state=${states || 'empty'}) and software cannot insert one`,
        'insert a SIM before the run, or use `phonehome capture` and insert it by hand while capturing',
      );
    },

    async setWifi(on) {
      // Over wireless adb, Wi-Fi off is the end of adb: nothing could be driven or restored.
      if (!on && isWirelessAdb(adb.serial)) {
        throw unsupported(
          'setWifi(false)',
          `it is connected over wireless adb (${adb.serial}), which switching Wi-Fi off would cut, leaving the phone unrestored`,
          'connect the phone by USB for this scenario',
        );
      }
      if (!wifiRecorded) {
        const wasOn = wifiIsOn(await shell(adb, ['settings', 'get', 'global', 'wifi_on']));
        context.record().add({ kind: 'wifi', wasOn, api: facts.api });
        wifiRecorded = true;
      }
      await execute('mobile: setConnectivity', { wifi: on });
    },

    async allowLocation() {
      if (await execute('mobile: isGpsEnabled')) return;
      if (!locationRecorded) {
        const previousMode = (
          await shell(adb, ['settings', 'get', 'secure', 'location_mode'])
        ).trim();
        context.record().add({ kind: 'location', previousMode, api: facts.api });
        locationRecorded = true;
      }
      await execute('mobile: toggleGps');
    },

    async setLocation(latitude, longitude) {
      // On a real phone Appium's settings helper mocks the location from a foreground service,
      // which outlives the session: it is recorded, and stopped at restore.
      if (!facts.console && !mockRecorded) {
        context.record().add({ kind: 'location-service' });
        mockRecorded = true;
      }
      await execute('mobile: setGeolocation', { latitude, longitude });
    },

    async addContact(name, phoneNumber) {
      // Which raw contact is ours is decided by ids, never guessed: `content` prints its errors
      // on stdout and exits 0 having inserted nothing, and taking the newest id then would make
      // restore delete one of the user's own contacts.
      const before = await rawContactIds(adb);
      const newest = Math.max(0, ...before);
      // A local contact (no account), the way a user adds one without signing in. Empty strings,
      // not the null bind type (`n`), which older `content` tools do not know: the contacts
      // provider stores an empty account name and type as none (AccountWithDataSet).
      const inserted = await shell(adb, [
        'content',
        'insert',
        '--uri',
        `${CONTACTS}/raw_contacts`,
        '--bind',
        'account_type:s:',
        '--bind',
        'account_name:s:',
      ]);
      const added = (await rawContactIds(adb)).filter((id) => id > newest);
      if (added.length !== 1) {
        const said = contentError(inserted);
        throw new PhonehomeError(
          'STEP_FAILED',
          added.length === 0
            ? `the contacts provider of ${adb.serial} did not add the contact${said ? ` (content said: ${said})` : ''}; add it by hand or check the Contacts app is enabled`
            : `${added.length} contacts appeared on ${adb.serial} while phonehome added one (ids ${added.join(', ')}): it cannot tell which is its own, so it deletes none; remove the canary contact by hand`,
        );
      }
      const id = added[0] as number;
      context.record().add({ kind: 'contact', rawContactId: id });
      // A contact is a raw contact plus one data row per field: its name, then its (mobile) number.
      const addRow = (mimetype: string, binds: string[]) =>
        shell(adb, [
          'content',
          'insert',
          '--uri',
          `${CONTACTS}/data`,
          '--bind',
          `raw_contact_id:i:${id}`,
          '--bind',
          `mimetype:s:vnd.android.cursor.item/${mimetype}`,
          ...binds.flatMap((bind) => ['--bind', bind]),
        ]);
      await addRow('name', [`data1:s:${name}`]);
      await addRow('phone_v2', [`data1:s:${phoneNumber}`, 'data2:i:2']);
    },

    async receiveSms(from, text) {
      if (facts.console) {
        await execute('mobile: sendSms', { phoneNumber: from, message: text });
        return;
      }
      const peer = needPeer(
        'receive an SMS',
        'a real phone can only get an SMS from another phone',
      );
      const outcome = incomingFrom('receive an SMS', peer);
      await compose(peer, 'sms', await needOwnNumber('receive an SMS'), text);
      return outcome;
    },

    async sendSms(to, text) {
      const target = outgoingTarget('send an SMS', to);
      await compose(adb, 'sms', target.number, text);
      return target.outcome;
    },

    async receiveMms(_from, text) {
      const peer = needPeer(
        'receive an MMS',
        facts.console
          ? "the emulator's console can inject SMS but not MMS"
          : 'a real phone can only get an MMS from another phone',
      );
      const outcome = incomingFrom('receive an MMS', peer);
      await compose(peer, 'mms', await needOwnNumber('receive an MMS'), text);
      return outcome;
    },

    async sendMms(to, text) {
      const target = outgoingTarget('send an MMS', to);
      await compose(adb, 'mms', target.number, text);
      return target.outcome;
    },

    async receiveCall(from) {
      if (facts.console) {
        await execute('mobile: gsmCall', { phoneNumber: from, action: 'call' });
        await execute('mobile: gsmCall', { phoneNumber: from, action: 'accept' });
        await hold();
        await execute('mobile: gsmCall', { phoneNumber: from, action: 'cancel' });
        return;
      }
      const peer = needPeer('receive a call', 'a real phone can only be called by another phone');
      const outcome = incomingFrom('receive a call', peer);
      await dial(peer, await needOwnNumber('receive a call'));
      await waitRinging();
      await shell(adb, ['input', 'keyevent', '5']); // KEYCODE_CALL answers a ringing call
      await hold();
      await shell(adb, ['input', 'keyevent', '6']); // KEYCODE_ENDCALL
      await shell(peer, ['input', 'keyevent', '6']);
      return outcome;
    },

    async makeCall(to) {
      const target = outgoingTarget('make a call', to);
      await dial(adb, target.number);
      await hold();
      await shell(adb, ['input', 'keyevent', '6']);
      return target.outcome;
    },

    async cloudLogin(account) {
      const steps = options.flows?.['cloud-login'];
      if (!steps) {
        throw unsupported(
          'cloud login',
          'every vendor signs in through its own screens, and devices.json has no flow for this phone',
          'add "android": { "flows": { "cloud-login": [ …taps and typing… ] } } (docs/android.md shows one)',
        );
      }
      await runFlow(session, adb, steps, 'cloud-login', { variables: { account } });
    },

    async setSetting(name, on) {
      const flow = options.settings?.[name]?.[on ? 'on' : 'off'];
      if (!flow) {
        throw unsupported(
          `set ${name} ${on ? 'on' : 'off'}`,
          `devices.json has no taps that switch '${name}' ${on ? 'on' : 'off'} on this phone`,
          `add "android": { "settings": { "${name}": { "on": [ … ], "off": [ … ] } } } (docs/android.md shows one)`,
        );
      }
      await runFlow(session, adb, flow, `settings.${name}.${on ? 'on' : 'off'}`);
    },
  };
}
