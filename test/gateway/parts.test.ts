import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFirmwareFile } from '../../drivers/virtual-phone/lib/firmware.ts';
import { AddressPool } from '../../src/capture/gateway/dns-server.ts';
import { gatewayRuleset } from '../../src/capture/gateway/nftables.ts';
import { routeOf } from '../../src/cli/devices.ts';
import type { DeviceEntry } from '../../src/config/devices.ts';
import { coverageLine, GATEWAY_COVERAGE } from '../../src/coverage.ts';
import { tempDir } from '../support/temp.ts';

// The gateway's parts that need no namespace: the addresses its DNS hands out, the rules it
// installs, and the virtual phone's transports that only the gateway route can see.
describe('the gateway route, part by part', () => {
  const dirs = tempDir();
  after(() => dirs.remove());

  it('hands each name one address of the pool, the same each time, and names it back', () => {
    const pool = new AddressPool('10.78.0.0/16');
    expect(pool.addressOf('api.vendor.example')).to.equal('10.78.0.1');
    expect(pool.addressOf('push.vendor.example')).to.equal('10.78.0.2');
    expect(pool.addressOf('API.Vendor.Example')).to.equal('10.78.0.1');
    expect(pool.nameOf('10.78.0.2')).to.equal('push.vendor.example');
    expect(pool.nameOf('10.78.0.3')).to.equal(undefined);
  });

  it('fills a small pool to its last usable address, then says it is full', () => {
    const pool = new AddressPool('10.78.0.0/30');
    expect([pool.addressOf('a'), pool.addressOf('b')]).to.deep.equal(['10.78.0.1', '10.78.0.2']);
    expect(() => pool.addressOf('c')).to.throw('the address pool is full (2 names)');
  });

  for (const bad of ['10.78.0.0', '10.78.0.0/31', '300.1.1.1/16', 'fd00::/64']) {
    it(`refuses the pool '${bad}', saying what a pool is`, () => {
      expect(() => new AddressPool(bad)).to.throw(/is not an IPv4 range from \/8 to \/30/);
    });
  }

  it("redirects and answers only the phone's address, rejects QUIC and forwards nothing", () => {
    const rules = gatewayRuleset('phonehome_1', {
      interface: 'wlan0',
      phoneAddress: '192.168.12.50',
      frontPort: 40001,
      dnsPort: 40053,
    });
    const phone = 'iifname "wlan0" ip saddr 192.168.12.50';
    expect(rules).to.include(`${phone} udp dport 53 redirect to :40053`);
    expect(rules).to.include(`${phone} meta l4proto tcp redirect to :40001`);
    expect(rules).to.include(`${phone} udp dport 443 reject`);
    expect(rules).to.include('tcp dport 40001 ip saddr != 192.168.12.50 drop');
    expect(rules).to.include('udp dport 40053 ip saddr != 192.168.12.50 drop');
    expect(rules).to.match(
      /hook forward[^}]*\n {4}iifname "wlan0" ip saddr 192\.168\.12\.50 drop\n/,
    );
    // Every redirect and counter is for the phone alone.
    for (const line of rules.split('\n').filter((l) => /redirect|update @/.test(l)))
      expect(line).to.include(phone);
  });

  it('refuses an interface name nft would read as syntax', () => {
    expect(() =>
      gatewayRuleset('phonehome_1', {
        interface: 'wlan0" accept; #',
        phoneAddress: '192.168.12.50',
        frontPort: 1,
        dnsPort: 2,
      }),
    ).to.throw('is not a network interface name');
  });

  it('says what the gateway saw, with its counts, and qualifies no PASS', () => {
    const failure = (cause: string) => ({ at: 0, cause, phase: 'before consent', step: '' });
    const line = coverageLine({
      coverage: GATEWAY_COVERAGE,
      unreadable: [
        failure('tls-cert-rejected'),
        failure('not-http'),
        failure('udp'),
        failure('udp-quic'),
      ],
      unscanned: [],
      lookups: 7,
    });
    expect(line).to.match(/^route gateway: every TCP connection/);
    expect(line).to.include(
      '; 1 TLS connection unreadable; 1 connection neither HTTP nor TLS, unreadable; 2 UDP flows unreadable; 7 DNS lookups',
    );
    expect(GATEWAY_COVERAGE.blind).to.deep.equal([]);
  });

  it('checks the virtual phone’s raw transports’ URLs, naming the field', () => {
    const profile = (rule: Record<string, unknown>) => {
      const file = join(dirs.path, `${String(rule.transport)}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          name: 'own',
          description: '',
          settings: {},
          requests: [{ on: 'boot', method: 'X', ...rule }],
        }),
      );
      return () => loadFirmwareFile(file);
    };
    expect(profile({ transport: 'tcp', url: 'https://push.example/' })).to.throw(
      /requests\[0\]\.url must be tcp:\/\/host:port for the tcp transport/,
    );
    expect(profile({ transport: 'udp', url: 'udp://stats.example' })).to.throw(
      /requests\[0\]\.url must be udp:\/\/host:port for the udp transport/,
    );
    expect(profile({ transport: 'dns', url: 'dns://beacon.example/x' })).to.throw(
      /requests\[0\]\.url must be dns:\/\/host for the dns transport/,
    );
    expect(profile({ transport: 'tcp', url: 'tcp://push.example:5222' })()).to.have.property(
      'name',
      'own',
    );
  });

  it("`phonehome devices` names each device's route, the gateway with its interface and phone", () => {
    const entry = (fields: Partial<DeviceEntry>): DeviceEntry => ({
      id: 'p',
      kind: 'android',
      capabilities: {},
      identifiers: {},
      settle: { quietMs: 0, maxMs: 0 },
      ...fields,
    });
    expect(
      [
        entry({}),
        entry({ android: { route: 'iptables' } }),
        entry({ gateway: { interface: 'wlan0', phoneAddress: '192.168.12.50' } }),
        entry({ kind: 'virtual' }),
        entry({ kind: 'remote', traffic: { mode: 'har' } }),
      ].map(routeOf),
    ).to.deep.equal([
      'proxy',
      'iptables',
      'gateway on wlan0 (phone 192.168.12.50)',
      'proxy',
      'farm (traffic har)',
    ]);
  });
});
