import { expect } from 'chai';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chooseDevice, findDevice, loadDevices } from '../../src/config/devices.ts';
import { PhonehomeError } from '../../src/errors.ts';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

const entry = (fields: Record<string, unknown>) =>
  JSON.stringify({ devices: [{ id: 'p', kind: 'virtual', capabilities: {}, ...fields }] });

// One row per mistake a user makes in devices.json: the error names the file, the JSON path and the fix.
const CASES: { name: string; text?: string; code: string; message: RegExp }[] = [
  {
    name: 'a missing file',
    code: 'DEVICES_MISSING',
    message: /devices\.json does not exist; create it .*--devices-file/,
  },
  {
    name: 'invalid JSON',
    text: '{"devices": [',
    code: 'DEVICES_INVALID_JSON',
    message: /is not valid JSON: .*fix the syntax/,
  },
  {
    name: 'a missing required field',
    text: JSON.stringify({ devices: [{ id: 'p', capabilities: {} }] }),
    code: 'DEVICES_INVALID',
    message:
      /json: \$\.devices\[0\] is missing the required field 'kind' \(one of "virtual", "android", "remote"\)/,
  },
  {
    name: 'a wrong type',
    text: entry({ capabilities: ['platformName'] }),
    code: 'DEVICES_INVALID',
    message: /json: \$\.devices\[0\]\.capabilities must be an object/,
  },
  {
    name: 'an unknown kind',
    text: entry({ kind: 'iphone' }),
    code: 'DEVICES_INVALID',
    message: /\$\.devices\[0\]\.kind must be one of "virtual", "android", "remote"/,
  },
  {
    name: 'an unknown identifier kind',
    text: entry({ identifiers: { imie: ['1'] } }),
    code: 'DEVICES_INVALID',
    message: /\$\.devices\[0\]\.identifiers has an unknown field 'imie'; known fields: imei, imsi/,
  },
  {
    name: 'identifier values that are not a list',
    text: entry({ identifiers: { imei: '865432101234564' } }),
    code: 'DEVICES_INVALID',
    message: /\$\.devices\[0\]\.identifiers\.imei must be an array/,
  },
  {
    name: 'a remote device without endpoint',
    text: entry({ kind: 'remote' }),
    code: 'DEVICES_INVALID',
    message:
      /\$\.devices\[0\] is missing the required field 'endpoint' \(a remote device needs the Appium server URL/,
  },
  {
    name: "a gateway without the phone's address",
    text: entry({ gateway: { interface: 'wlan0' } }),
    code: 'DEVICES_INVALID',
    message: /\$\.devices\[0\]\.gateway is missing the required field 'phoneAddress'/,
  },
  {
    name: 'a gateway for a farm phone',
    text: entry({
      kind: 'remote',
      endpoint: 'https://hub.example.com/wd/hub',
      gateway: { interface: 'wlan0', phoneAddress: '192.168.12.50' },
    }),
    code: 'DEVICES_INVALID',
    message: /\$\.devices\[0\]\.gateway: a remote \(farm\) phone is not on this host's network/,
  },
  {
    name: 'two routes for one phone',
    text: entry({
      kind: 'android',
      android: { route: 'vpn' },
      gateway: { interface: 'wlan0', phoneAddress: '192.168.12.50' },
    }),
    code: 'DEVICES_INVALID',
    message: /\$\.devices\[0\]: "gateway" and android\.route "vpn" are two routes; keep one/,
  },
  {
    name: 'a duplicated id',
    text: JSON.stringify({
      devices: [0, 1].map(() => ({ id: 'p', kind: 'virtual', capabilities: {} })),
    }),
    code: 'DEVICES_INVALID',
    message: /\$\.devices\[1\]\.id 'p' is used twice/,
  },
];

describe('devices.json', () => {
  const dirs = tempDir();
  after(() => dirs.remove());

  for (const [index, row] of CASES.entries()) {
    it(`explains ${row.name}`, () => {
      const file = join(dirs.path, `case-${index}`, 'devices.json');
      if (row.text !== undefined) {
        writeFileSync(join(dirs.path, `case-${index}.json`), row.text);
      }
      const path = row.text !== undefined ? join(dirs.path, `case-${index}.json`) : file;
      try {
        loadDevices(path);
        expect.fail('loadDevices accepted a bad file');
      } catch (error) {
        expect(error).to.be.instanceOf(PhonehomeError);
        expect((error as PhonehomeError).code).to.equal(row.code);
        expect((error as Error).message).to.match(row.message);
        expect((error as Error).message).to.include(
          row.text !== undefined ? `case-${index}.json` : 'devices.json',
        );
      }
    });
  }

  it('names the known devices when an id is unknown', () => {
    const config = loadDevices(join(import.meta.dirname, '..', '..', 'devices.json'));
    expect(() => findDevice(config, 'pixel-7')).to.throw(
      /no device 'pixel-7' in .*devices\.json; known: virtual-redmi-1s-optin, virtual-redmi-1s-2014, virtual-clean/,
    );
  });

  it("chooses the file's default device when none is named", () => {
    const config = loadDevices(join(import.meta.dirname, '..', '..', 'devices.json'));
    expect(chooseDevice(config).id).to.equal('virtual-redmi-1s-optin');
  });

  describe('through `phonehome run`', function () {
    this.timeout(60_000);
    const rows = [
      {
        name: 'an unknown device id',
        args: ['--device', 'pixel-7'],
        file: undefined,
        message: /no device 'pixel-7' in .*; known: virtual-redmi-1s-optin/,
      },
      {
        name: 'a missing required field',
        args: [],
        file: JSON.stringify({ devices: [{ id: 'p', capabilities: {} }] }),
        message: /\$\.devices\[0\] is missing the required field 'kind'/,
      },
      {
        name: 'a missing file',
        args: ['--devices-file', join(dirs.path, 'nowhere.json')],
        file: undefined,
        message: /nowhere\.json does not exist/,
      },
    ];
    for (const [index, row] of rows.entries()) {
      it(`exits 2 on ${row.name} and touches nothing`, async () => {
        const reports = join(dirs.path, `reports-${index}`);
        const args = ['run', ...row.args];
        if (row.file) {
          writeFileSync(join(dirs.path, `cli-${index}.json`), row.file);
          args.push('--devices-file', join(dirs.path, `cli-${index}.json`));
        }
        const result = await runCli(args, {
          PHONEHOME_REPORTS_DIR: reports,
          PHONEHOME_CA_DIR: join(dirs.path, 'ca'),
        });
        expect(result.code, result.stderr).to.equal(2);
        expect(result.stderr).to.match(row.message);
        expect(existsSync(reports) ? readdirSync(reports) : [], 'no run folder').to.deep.equal([]);
        expect(existsSync(join(dirs.path, 'ca')), 'no CA created').to.equal(false);
      });
    }
  });
});
