import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateCACertificate } from 'mockttp';
import { PhonehomeError } from '../errors.ts';
import type { CertificateAuthority } from '../types.ts';

export type { CertificateAuthority };

/**
 * Loads the CA from `dir`, creating it on first use. The key is private: the folder is made 0700
 * and the key file 0600, and looser modes found on disk are tightened, because anyone holding
 * the key can read every phone's traffic that trusts it.
 *
 * @example
 *   const ca = await loadOrCreateCa(readEnvironment().caDir);
 */
export async function loadOrCreateCa(dir: string): Promise<CertificateAuthority> {
  const keyPath = join(dir, 'ca.key');
  const certPath = join(dir, 'ca.pem');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    if (!existsSync(keyPath) || !existsSync(certPath)) {
      const { key, cert } = await generateCACertificate({
        subject: { commonName: 'phonehome CA (this installation)', organizationName: 'phonehome' },
        bits: 2048,
      });
      // 'wx' so that two runs starting at once never overwrite each other's fresh key.
      try {
        writeFileSync(keyPath, key, { mode: 0o600, flag: 'wx' });
        writeFileSync(certPath, cert, { mode: 0o644, flag: 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    if ((statSync(keyPath).mode & 0o077) !== 0) chmodSync(keyPath, 0o600);
    return { keyPath, certPath, certPem: readFileSync(certPath, 'utf8') };
  } catch (error) {
    if (error instanceof PhonehomeError) throw error;
    throw new PhonehomeError(
      'CA_UNAVAILABLE',
      `cannot create or read the CA in ${dir}: ${(error as Error).message}; set PHONEHOME_CA_DIR to a folder you can write`,
      { cause: error },
    );
  }
}
