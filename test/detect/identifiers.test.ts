import { expect } from 'chai';
import { identifiersFrom, validateIdentifierValues } from '../../src/detect/identifiers.ts';
import { PhonehomeError } from '../../src/errors.ts';

describe('identifiersFrom', () => {
  it('labels values by kind and position, in the canonical kind order', () => {
    const identifiers = identifiersFrom(
      {
        contact_number: ['+33698765432', '+33698765433'],
        imei: ['449015420343809', '449015420343817'],
        msisdn: ['+33612345678'],
      },
      'devices.json',
    );
    expect(identifiers.map((i) => i.label)).to.deep.equal([
      'IMEI #1',
      'IMEI #2',
      'phone number #1',
      'contact number #1',
      'contact number #2',
    ]);
    expect(identifiers[0]).to.deep.equal({
      kind: 'imei',
      value: '449015420343809',
      label: 'IMEI #1',
      source: 'devices.json',
    });
  });
});

describe('validateIdentifierValues', () => {
  const rejects = (values: unknown, message: RegExp) => {
    expect(() => validateIdentifierValues(values, 'ids.json'))
      .to.throw(PhonehomeError, message)
      .with.property('code', 'IDENTIFIERS_INVALID');
  };

  it('accepts every kind and trims values', () => {
    expect(
      validateIdentifierValues(
        { imei: [' 449015420343809 '], location: ['48.85661, 2.35222'] },
        'ids.json',
      ),
    ).to.deep.equal({
      imei: ['449015420343809'],
      location: ['48.85661, 2.35222'],
    });
  });

  const CASES: [string, unknown, RegExp][] = [
    [
      'an unknown kind, naming the known ones',
      { imeii: ['1'] },
      /^ids\.json: unknown identifier kind 'imeii'; known: imei, imsi, .*location$/,
    ],
    [
      'a value that is not a list',
      { imei: '449015420343809' },
      /^ids\.json: \.imei must be an array of strings, e\.g\. \["356938035643809"\]; got a string/,
    ],
    ['an empty value', { msisdn: [''] }, /^ids\.json: \.msisdn\[0\] must be a non-empty string/],
    [
      'a number instead of a string',
      { imsi: [208011234567890] },
      /\.imsi\[0\] must be a non-empty string; got a number/,
    ],
    [
      'an IMEI of the wrong length',
      { imei: ['44901542034'] },
      /\.imei\[0\] is not a valid IMEI: expected 14 to 16 digits/,
    ],
    [
      'a malformed MAC',
      { wifi_mac: ['a4:50:46:12:34'] },
      /\.wifi_mac\[0\] is not a valid Wi-Fi MAC/,
    ],
    [
      'a location out of range',
      { location: ['98.1,2.3'] },
      /\.location\[0\] is not a valid location: expected a "lat,lon" pair/,
    ],
    [
      'not an object',
      ['449015420343809'],
      /^ids\.json: identifiers must be an object of arrays by kind/,
    ],
  ];
  for (const [name, values, message] of CASES)
    it(`rejects ${name}`, () => rejects(values, message));

  it('never prints the rejected value itself', () => {
    expect(() => validateIdentifierValues({ imei: ['4490154203'] }, 'ids.json'))
      .to.throw(PhonehomeError)
      .that.satisfies((error: Error) => !error.message.includes('4490154203'));
  });
});
