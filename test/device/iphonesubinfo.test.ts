import { expect } from 'chai';
import {
  acceptSubscriberValue,
  parseServiceCallString,
  subInfoCalls,
} from '../../src/device/android/iphonesubinfo.ts';
import { REPLY } from './parcel-replies.ts';

describe('service call iphonesubinfo', () => {
  describe('parsing the Parcel dump', () => {
    const rows: {
      name: string;
      output: string;
      expected: ReturnType<typeof parseServiceCallString>;
    }[] = [
      {
        name: 'an IMEI over three lines',
        output: REPLY.imei,
        expected: { ok: true, value: '865432101234564' },
      },
      { name: 'an IMSI', output: REPLY.imsi, expected: { ok: true, value: '460001234567890' } },
      {
        name: 'a 20-digit ICCID ending on a word boundary',
        output: REPLY.iccid,
        expected: { ok: true, value: '89860012345678901234' },
      },
      {
        name: 'a number with a +',
        output: REPLY.msisdn,
        expected: { ok: true, value: '+8613912345678' },
      },
      { name: 'a null String (one line)', output: REPLY.null, expected: { ok: true, value: null } },
      { name: 'an empty String', output: REPLY.empty, expected: { ok: true, value: '' } },
      {
        name: 'a SecurityException with its message',
        output: REPLY.security,
        expected: {
          ok: false,
          reason:
            'SecurityException: getDeviceId: The user 2000 does not meet the requirements to access device identifiers.',
        },
      },
      {
        name: 'a code the interface lacks',
        output: REPLY.binderError,
        expected: { ok: false, reason: 'binder error 0xffffffb6 "Not a data message"' },
      },
      {
        name: 'a missing service',
        output: 'service: Service iphonesubinfo does not exist\n',
        expected: { ok: false, reason: 'service: Service iphonesubinfo does not exist' },
      },
      {
        name: 'a strict-mode reply header (-128) before the string',
        output: `Result: Parcel(
  0x00000000: ffffff80 00000008 00000000 00000002 '................'
  0x00000010: 00310030 00000000                   '0.1.....        ')`,
        expected: { ok: true, value: '01' },
      },
      {
        name: 'a noted app-ops header (-127) with one note, then no exception',
        output: `Result: Parcel(
  0x00000000: ffffff81 00000001 00000001 00000000 '................'
  0x00000010: 00000000 00000003 00330032 00000034 '........2.3.4...')`,
        expected: { ok: true, value: '234' },
      },
    ];
    for (const row of rows) {
      it(`reads ${row.name}`, () => {
        expect(parseServiceCallString(row.output)).to.deep.equal(row.expected);
      });
    }
  });

  describe('transaction codes per API level', () => {
    const table: [
      api: number,
      imei: number[],
      imsi: number[],
      iccid: number[],
      msisdn: number[],
      args: string[],
    ][] = [
      [16, [1], [3], [4], [5], []],
      [18, [1], [3], [5], [6], []],
      [19, [1], [3], [5], [6], []],
      [21, [1], [5, 6], [9, 10], [11, 12], []],
      [22, [1], [7], [11, 10], [13, 12], []],
      [23, [1], [7], [11, 10], [13, 12], ['s16', 'com.android.shell']],
      [29, [1], [7], [11, 10], [13, 12], ['s16', 'com.android.shell']],
      [30, [1], [8], [12], [15], ['s16', 'com.android.shell']],
      [34, [1], [8], [12], [15], ['s16', 'com.android.shell']],
      [35, [1], [8], [13, 12], [16, 15], ['s16', 'com.android.shell']],
    ];
    for (const [api, imei, imsi, iccid, msisdn, args] of table) {
      it(`API ${api}: IMEI ${imei}, IMSI ${imsi}, ICCID ${iccid}, number ${msisdn}${args.length ? ', as com.android.shell' : ''}`, () => {
        const calls = subInfoCalls(api);
        const codes = (kind: keyof typeof calls) => calls[kind].map((call) => call.code);
        expect({
          imei: codes('imei'),
          imsi: codes('imsi'),
          iccid: codes('iccid'),
          msisdn: codes('msisdn'),
        }).to.deep.equal({
          imei,
          imsi,
          iccid,
          msisdn,
        });
        expect(calls.imsi[0]!.args).to.deep.equal(args);
      });
    }
  });

  describe('accepting a value only in the shape of its kind', () => {
    const rows: [
      kind: Parameters<typeof acceptSubscriberValue>[0],
      value: string,
      simOperator: string | undefined,
      ok: boolean,
    ][] = [
      ['imei', '865432101234564', undefined, true],
      ['imei', '865432101234565', undefined, false], // Luhn fails
      ['imei', 'A0000012345678', undefined, true], // a CDMA MEID
      ['imei', '460001234567891', undefined, false], // 15 digits failing Luhn (an IMSI, say)
      ['imsi', '460001234567890', '46000', true],
      ['imsi', '460001234567890', '310260', false], // not this SIM's operator
      ['imsi', '460011234567890', '46000,46001', true], // dual SIM: the default SIM is slot 2's
      ['imsi', '460001234567890', '46000,', true], // one slot's operator, the other slot empty
      ['imsi', '310260123456789', '46000,46001', false], // neither slot's operator
      ['imsi', '89860012345678901234', undefined, false], // an ICCID
      ['iccid', '89860012345678901234', undefined, true],
      ['iccid', '8986001234567890123F', undefined, true],
      ['iccid', '460001234567890', undefined, false],
      ['msisdn', '+8613912345678', undefined, true],
      ['msisdn', 'China Mobile', undefined, false],
    ];
    for (const [kind, value, simOperator, ok] of rows) {
      it(`${ok ? 'accepts' : 'rejects'} ${value} as ${kind}${simOperator ? ` (SIM ${simOperator})` : ''}`, () => {
        expect(acceptSubscriberValue(kind, value, simOperator ? { simOperator } : {})).to.equal(ok);
      });
    }
  });
});
