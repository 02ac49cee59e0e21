import { createHash, X509Certificate } from 'node:crypto';
import { PhonehomeError } from '../../errors.ts';

/**
 * The file name Android gives a CA in its system store: OpenSSL's old subject hash
 * (`openssl x509 -subject_hash_old`, the MD5 of the DER subject name, first 4 bytes read
 * little-endian) plus `.0`.
 *
 * @example
 *   androidCaFileName(ca.certPem) // → 'c8750f0d.0'
 */
export function androidCaFileName(certPem: string): string {
  let der: Buffer;
  try {
    der = new X509Certificate(certPem).raw;
  } catch (error) {
    throw new PhonehomeError(
      'CA_INVALID',
      `the CA certificate cannot be parsed: ${String(error)}`,
      {
        cause: error,
      },
    );
  }
  const digest = createHash('md5').update(subjectDer(der)).digest();
  return `${digest.readUInt32LE(0).toString(16).padStart(8, '0')}.0`;
}

/** The DER bytes of the subject Name inside a certificate (tbsCertificate's sixth field). */
function subjectDer(certificate: Buffer): Buffer {
  const cert = readTlv(certificate, 0);
  const tbs = readTlv(certificate, cert.contentStart);
  let at = tbs.contentStart;
  // version [0] is optional; then serial, signature algorithm, issuer, validity, subject.
  if (certificate[at] === 0xa0) at = readTlv(certificate, at).end;
  for (let field = 0; field < 4; field += 1) at = readTlv(certificate, at).end;
  const subject = readTlv(certificate, at);
  return certificate.subarray(at, subject.end);
}

function readTlv(bytes: Buffer, at: number): { contentStart: number; end: number } {
  let length = bytes[at + 1]!;
  let contentStart = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    length = 0;
    for (let i = 0; i < count; i += 1) length = length * 256 + bytes[at + 2 + i]!;
    contentStart += count;
  }
  return { contentStart, end: contentStart + length };
}
