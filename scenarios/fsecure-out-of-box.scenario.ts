import { defineScenario } from '../src/index.ts';

/**
 * F-Secure's 2014 test of the Xiaomi Redmi 1S, step by step: a phone fresh out of the box, no
 * account, then the SIM, Wi-Fi, GPS, a new contact, SMS and MMS both ways, calls both ways —
 * and only then the vendor cloud and Cloud Messaging, the consent. Then the same steps again.
 * Nothing identifying may leave the phone before that consent.
 */
export default defineScenario({
  name: 'fsecure-out-of-box',
  title: 'F-Secure out of the box (Redmi 1S, 2014): no identifier before Cloud Messaging is on',
  consents: [{ name: 'cloud-messaging', covers: 'all' }],
  // The consent is Cloud Messaging's switch: a phone without it is refused, never passed.
  settings: ['cloud-messaging'],
  answers: {
    'api.account.xiaomi.com': { status: 200, json: { code: 0, description: 'ok' } },
    'account.xiaomi.com': { status: 200, json: { code: 0 } },
  },
  async steps(phone) {
    const { canary } = phone;
    const everyday = async (round: string) => {
      await phone.step(`add a contact${round}`, () =>
        phone.addContact(canary.name(), canary.phoneNumber()),
      );
      const friend = canary.phoneNumber();
      await phone.step(`receive an SMS${round}`, () => phone.receiveSms(friend, canary.text()));
      await phone.step(`send an SMS${round}`, () => phone.sendSms(friend, canary.text()));
      await phone.step(`receive an MMS${round}`, () => phone.receiveMms(friend, canary.text()));
      await phone.step(`send an MMS${round}`, () => phone.sendMms(friend, canary.text()));
      await phone.step(`receive a call${round}`, () => phone.receiveCall(friend));
      await phone.step(`make a call${round}`, () => phone.makeCall(friend));
    };

    await phone.step('insert SIM', () => phone.insertSim());
    await phone.step('connect to Wi-Fi', () => phone.setWifi(true));
    await phone.step('allow GPS', async () => {
      await phone.allowLocation();
      const here = canary.location(60.1699, 24.9384); // Helsinki, where F-Secure is
      await phone.setLocation(here.latitude, here.longitude);
    });
    await everyday('');

    await phone.consent('cloud-messaging', async () => {
      await phone.cloudLogin(canary.email());
      await phone.setSetting('cloud-messaging', true);
    });
    await everyday(' (after consent)');
  },
  // No checks: the built-in verdict "no identifier leaves the phone before consent
  // 'cloud-messaging'" is the whole rule, and a check restating it would fail each leak twice.
});
