import { expect } from 'chai';
import { createDecipheriv } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFirmwareFile, render } from '../../drivers/virtual-phone/lib/firmware.ts';
import { loadDevices } from '../../src/config/devices.ts';
import { defineScenario } from '../../src/scenario/define.ts';
import type { OpaqueException, UnscannedPart } from '../../src/types.ts';
import { judge } from '../../src/verdict/judge.ts';
import { exceptionFor } from '../../src/verdict/opaque-exceptions.ts';
import { tempDir } from '../support/temp.ts';

const T0 = 1_800_000_000_000;
const OPAQUE =
  'opaque: 96 bytes (base64), 6.3 bits/byte (random bytes of this length: 6.3), no known encoding';
const TOKEN: OpaqueException = {
  host: '*.vendor.example',
  where: 'cookie:t',
  reason: 'reviewed: push token',
};

describe('opaque exceptions: which part a declaration covers', () => {
  const rows: { part: { host: string; where: string; reason: string }; covered: boolean }[] = [
    { part: { host: 'push.vendor.example', where: 'cookie:t', reason: OPAQUE }, covered: true },
    {
      part: { host: 'a.b.vendor.example', where: 'cookie:t>base64', reason: OPAQUE },
      covered: true,
    },
    { part: { host: 'vendor.example', where: 'cookie:t', reason: OPAQUE }, covered: false },
    { part: { host: 'push.other.example', where: 'cookie:t', reason: OPAQUE }, covered: false },
    {
      part: { host: 'push.vendor.example', where: 'cookie:token', reason: OPAQUE },
      covered: false,
    },
    // A part cut by a budget was never looked at: no review of it can be declared.
    {
      part: {
        host: 'push.vendor.example',
        where: 'cookie:t',
        reason: 'nested more than 8 decodings deep: not opened',
      },
      covered: false,
    },
  ];
  for (const { part, covered } of rows) {
    it(`${covered ? 'covers' : 'does not cover'} ${part.host} ${part.where} (${part.reason.slice(0, 20)}…)`, () => {
      expect(exceptionFor(part, [TOKEN])).to.equal(covered ? TOKEN : undefined);
    });
  }
});

describe('opaque parts in a verdict', () => {
  const NAME = "no identifier leaves the phone before consent 'cloud'";
  const part = (where: string, reason: string, excepted?: string) => ({
    at: T0 + 50,
    host: 'stats.vendor.example',
    exchangeId: 'x',
    where,
    reason,
    ...(excepted ? { excepted } : {}),
  });
  const judged = (unscanned: Omit<UnscannedPart, 'phase' | 'step'>[]) =>
    judge({
      marks: [
        { type: 'step', name: 'insert SIM', at: T0 },
        { type: 'consent', name: 'cloud', covers: 'all', at: T0 + 100 },
      ],
      consents: [{ name: 'cloud', covers: 'all' }],
      findings: [],
      tlsFailures: [],
      exchanges: [{ host: 'stats.vendor.example', startedAt: T0 + 50 }],
      forbiddenHosts: [],
      unscanned,
      knownKinds: ['imei'],
    }).verdicts.find((verdict) => verdict.name === NAME)!;

  it('makes the consent inconclusive and says "opaque", apart from a budget cut', () => {
    const verdict = judged([
      part('request-body', OPAQUE),
      part(
        'request-body>gzip',
        'gzip inside request-body decoding past 67108864 bytes (a decompression bomb?): not decoded',
      ),
    ]);
    expect(verdict.status).to.equal('inconclusive');
    expect(verdict.summary).to.equal(
      "inconclusive: 1 opaque part(s) before consent 'cloud' could not be read (stats.vendor.example); 1 body part(s) before consent 'cloud' were not scanned (stats.vendor.example)",
    );
    expect(verdict.message).to.include(
      `1 opaque part(s) before consent 'cloud' look encrypted or compressed by an unknown method, so what they carry cannot be known:\n  - stats.vendor.example request-body during step 'insert SIM': ${OPAQUE}`,
    );
    expect(verdict.message).to.include(
      "\nand 1 body part(s) before consent 'cloud' were not scanned:\n  - stats.vendor.example request-body>gzip",
    );
  });

  it('passes when the only opaque part is declared an exception', () => {
    expect(judged([part('request-body', OPAQUE, 'reviewed: push token')]).status).to.equal('pass');
  });
});

describe('opaque exceptions: bad declarations name where and how to fix them', () => {
  const dirs = tempDir();
  after(() => dirs.remove());

  it('in devices.json: the file, the JSON path and the missing field', () => {
    const file = join(dirs.path, 'devices.json');
    writeFileSync(
      file,
      JSON.stringify({
        devices: [
          {
            id: 'p',
            kind: 'virtual',
            capabilities: {},
            opaqueExceptions: [{ host: 'push.vendor.example', where: 'request-body' }],
          },
        ],
      }),
    );
    expect(() => loadDevices(file)).to.throw(
      /devices\.json: \$\.devices\[0\]\.opaqueExceptions\[0\] is missing the required field 'reason'/,
    );
  });

  it('in a scenario: its name, the index and the field', () => {
    expect(() =>
      defineScenario({
        name: 'x',
        title: 'x',
        consents: [],
        opaqueExceptions: [{ host: 'push.vendor.example', where: '', reason: 'reviewed' }],
        async steps() {},
      }),
    ).to.throw(/^scenario 'x': opaqueExceptions\[0\]\.where must be a non-empty string/);
  });
});

describe('the virtual phone sealing a body', () => {
  const dirs = tempDir();
  after(() => dirs.remove());
  const KEY = '8f4e2a61c09b3d7755e1a0c4b6d2f918';
  const profile = (encrypt: unknown, keys: unknown = { sdk: KEY }) => {
    const file = join(dirs.path, `p${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        name: 'p',
        description: 'p',
        settings: {},
        keys,
        requests: [
          {
            on: 'boot',
            method: 'POST',
            url: 'https://a.example/',
            body: '{"imei":"{imei}"}',
            encrypt,
          },
        ],
      }),
    );
    return file;
  };

  const outputs = [
    { cipher: 'aes-128-gcm', output: 'base64' },
    { cipher: 'aes-128-cbc', output: 'hex' },
    { cipher: 'aes-128-ctr', output: 'base64url' },
    { cipher: 'aes-128-gcm', output: 'raw' },
  ] as const;
  for (const { cipher, output } of outputs) {
    it(`${cipher} to ${output}: the server with the key reads the body back`, () => {
      const firmware = loadFirmwareFile(profile({ key: 'sdk', cipher, output }));
      const sent = render(firmware.requests[0]!, { imei: '356938035643809' }, firmware.keys).body!;
      const sealed =
        output === 'raw' ? Buffer.from(sent as Uint8Array) : Buffer.from(sent as string, output);
      const gcm = cipher.endsWith('gcm');
      const iv = sealed.subarray(0, gcm ? 12 : 16);
      const body = sealed.subarray(iv.length, gcm ? sealed.length - 16 : sealed.length);
      const decipher = createDecipheriv(cipher, Buffer.from(KEY, 'hex'), iv);
      if (gcm)
        (
          decipher as ReturnType<typeof createDecipheriv> & { setAuthTag(tag: Buffer): void }
        ).setAuthTag(sealed.subarray(sealed.length - 16));
      const plain = Buffer.concat([decipher.update(body), decipher.final()]).toString();
      expect(plain).to.equal('{"imei":"356938035643809"}');
    });
  }

  const bad: { name: string; encrypt: unknown; keys?: unknown; message: RegExp }[] = [
    {
      name: 'a key the profile does not name',
      encrypt: { key: 'nope' },
      message: /requests\[0\]\.encrypt\.key must name one of the profile's keys \(sdk\)/,
    },
    {
      name: 'a key that is not hex',
      encrypt: { key: 'sdk' },
      keys: { sdk: 'secret' },
      message: /keys\.sdk must be a 16- or 32-byte AES key in hex/,
    },
    {
      name: 'a key of the wrong size for the cipher',
      encrypt: { key: 'sdk', cipher: 'aes-256-gcm' },
      message: /requests\[0\]\.encrypt\.key 'sdk' is 16 bytes; aes-256-gcm takes 32/,
    },
    {
      name: 'an unknown cipher',
      encrypt: { key: 'sdk', cipher: 'des' },
      message: /requests\[0\]\.encrypt\.cipher must be one of aes-128-gcm/,
    },
    {
      name: 'an unknown output',
      encrypt: { key: 'sdk', output: 'base32' },
      message: /requests\[0\]\.encrypt\.output must be one of raw, base64, base64url, hex/,
    },
  ];
  for (const row of bad) {
    it(`names the file and the field for ${row.name}`, () => {
      const file = profile(row.encrypt, row.keys);
      expect(() => loadFirmwareFile(file)).to.throw(
        new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${row.message.source}`),
      );
    });
  }
});
