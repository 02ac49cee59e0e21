import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { loadOrCreateCa } from '../../src/capture/ca.ts';
import { androidCaFileName } from '../../src/device/android/subject-hash.ts';
import { tempDir } from '../support/temp.ts';

describe("the CA's file name in Android's system store", function () {
  this.timeout(30_000);
  const dirs = tempDir();
  after(() => dirs.remove());

  it("is OpenSSL's old subject hash, as `openssl x509 -subject_hash_old` computes it", async function () {
    const ca = await loadOrCreateCa(join(dirs.path, 'ca'));
    let expected: string;
    try {
      expected = execFileSync(
        'openssl',
        ['x509', '-noout', '-subject_hash_old', '-in', ca.certPath],
        { encoding: 'utf8' },
      ).trim();
    } catch {
      this.skip(); // no openssl on this machine to compare with
    }
    expect(androidCaFileName(ca.certPem)).to.equal(`${expected!}.0`);
  });
});
