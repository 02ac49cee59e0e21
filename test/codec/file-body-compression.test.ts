import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compress as snappyjs } from 'snappyjs';
import { loadFileBody, type LoadedBody, type Windowing } from '../../src/detect/file-body.ts';
import type { FileBody } from '../../src/types.ts';
import { lz4Frame, lz4ZeroBomb, snappyFramed } from '../support/compressed-frames.ts';
import { tempDir } from '../support/temp.ts';

const IMEI = '865432101234564';
const MiB = 1024 * 1024;
/** Small windows, so a 3 MiB body is scanned in several as a 64 MiB one would be. */
const WINDOWING: Windowing = { whole: 1 * MiB, window: 1 * MiB, overlap: 64 * 1024 };

/** 3 MiB of log lines with the IMEI in the last one. */
function logWithImeiAtTheEnd(): Buffer {
  const line = '{"level":"info","msg":"screen_view","session":"a1b2c3"}\n';
  return Buffer.concat([
    Buffer.from(line.repeat((3 * MiB) / line.length)),
    Buffer.from(`{"imei":"${IMEI}"}\n`),
  ]);
}

/** All the bytes a loaded body gives the scan, whole or window by window. */
async function scannedBytes(loaded: LoadedBody): Promise<Buffer> {
  if ('whole' in loaded) return loaded.whole;
  const windows: Buffer[] = [];
  for await (const window of loaded.windows) windows.push(window.bytes);
  return Buffer.concat(windows);
}

// Bodies over 1 MiB are kept in files and read back through loadFileBody: its snappy and LZ4
// are decoded whole (they are not streamed), within the same budget as a streamed body.
describe('bodies kept in files: snappy and lz4 content-encodings', () => {
  const dirs = tempDir();
  after(() => dirs.remove());
  const plain = logWithImeiAtTheEnd();
  let count = 0;
  function fileBody(bytes: Uint8Array): FileBody {
    const file = join(dirs.path, `body-${count++}`);
    writeFileSync(file, bytes);
    return { encoding: 'file', file, size: bytes.length, complete: true };
  }

  const rows: [string, string, Uint8Array][] = [
    ['raw snappy', 'snappy', snappyjs(plain)],
    ['framed snappy', 'x-snappy-framed', snappyFramed(plain)],
    ['framed snappy declared as snappy', 'snappy', snappyFramed(plain)],
    ['an lz4 frame', 'lz4', lz4Frame(plain, { contentSize: true, blockChecksum: true })],
  ];
  for (const [name, coding, bytes] of rows) {
    it(`${name}: decoded, windowed, the IMEI at the end found`, async () => {
      const loaded = await loadFileBody(fileBody(bytes), coding, WINDOWING);
      expect('windows' in loaded, 'scanned in windows').to.equal(true);
      const scanned = await scannedBytes(loaded);
      expect(loaded.unscanned).to.deep.equal([]);
      expect(scanned.includes(IMEI)).to.equal(true);
      expect(scanned.length).to.be.at.least(plain.length);
    });
  }

  it('a snappy body that is not snappy is said to be unscanned', async () => {
    const loaded = await loadFileBody(fileBody(plain), 'snappy', WINDOWING);
    expect(await scannedBytes(loaded)).to.have.length(0);
    expect(loaded.unscanned).to.deep.equal([
      'the snappy content-encoding could not be undone: the body was not scanned',
    ]);
  });

  it('an lz4 bomb past the streaming budget is said to be unscanned', async () => {
    // 80 MiB of zeros in a few hundred KB: past max(64 MiB, 32 × its size).
    const bomb = lz4ZeroBomb(20);
    const loaded = await loadFileBody(fileBody(bomb), 'lz4', WINDOWING);
    expect(await scannedBytes(loaded)).to.have.length(0);
    expect(loaded.unscanned).to.deep.equal([
      `lz4 body decoding past ${64 * MiB} bytes (a decompression bomb?): the body was not scanned`,
    ]);
  });
});
