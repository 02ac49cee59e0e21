import { expect } from 'chai';
import { bodyStore } from '../../src/capture/bodies.ts';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { loadOrCreateCa } from '../../src/capture/ca.ts';
import { CaptureSession } from '../../src/capture/session.ts';
import { readJournalAll } from '../../src/journal/reader.ts';
import { JournalWriter } from '../../src/journal/writer.ts';
import type { ExchangeRecord } from '../../src/journal/records.ts';
import { tempDir } from '../support/temp.ts';

/** Sends raw bytes to the proxy and resolves with what came back before it closed (or 1 s). */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', () => resolve(answer));
    setTimeout(() => socket.destroy(), 1000);
  });
}

// A request mockttp cannot parse used to end the whole process: the rest of the run went
// unrecorded. It is answered 400, recorded as what the phone sent, and the proxy goes on.
describe('one malformed request never ends the capture', function () {
  this.timeout(20_000);
  const dirs = tempDir();
  after(() => dirs.remove());

  it('answers an unterminated IPv6 URL with 400, journals it, and records the next request', async () => {
    const ca = await loadOrCreateCa(join(dirs.path, 'ca'));
    const journal = JournalWriter.open(join(dirs.path, 'journal.ndjson'));
    const logs: string[] = [];
    const capture = await CaptureSession.start({
      ca,
      journal,
      bodies: bodyStore(dirname(journal.path)),
      answers: { hosts: {}, otherwise: 'not-found' },
      log: (line) => logs.push(line),
    });
    try {
      const bad = await raw(
        capture.port,
        'GET http://[::1/?imei=865432101234564 HTTP/1.1\r\nHost: x\r\n\r\n',
      );
      expect(bad).to.match(/^HTTP\/1\.1 400 /);
      const good = await raw(
        capture.port,
        'GET http://ok.example.test/ HTTP/1.1\r\nHost: ok.example.test\r\n\r\n',
      );
      expect(good).to.match(/^HTTP\/1\.1 404 /);
      await capture.waitQuiet(50, 2000);
    } finally {
      await capture.stop();
      journal.close();
    }
    const exchanges = (await readJournalAll(journal.path))
      .filter((record): record is ExchangeRecord => record.type === 'exchange')
      .map(({ exchange }) => [
        exchange.request.url,
        exchange.response?.status,
        exchange.error ?? '',
      ]);
    expect(exchanges).to.have.length(2);
    expect(exchanges[0]![0]).to.equal('http://[::1/?imei=865432101234564');
    expect(exchanges[0]![1]).to.equal(400);
    expect(exchanges[0]![2]).to.match(/^malformed request URL: /);
    expect(exchanges[1]).to.deep.equal(['http://ok.example.test/', 404, '']);
    expect(logs.join('\n')).to.include('rejected a request: malformed request URL');
  });
});
