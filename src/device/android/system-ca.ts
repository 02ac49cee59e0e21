import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PhonehomeError } from '../../errors.ts';
import { adbCommand, shellResult, type Adb } from './adb-client.ts';
import { asRoot, type RootMethod } from './root.ts';

/** Where phonehome puts its files on the phone while it installs the CA. */
export const PHONE_WORK_DIR = '/data/local/tmp/phonehome-ca';
const STORE = '/system/etc/security/cacerts';
const APEX_STORE = '/apex/com.android.conscrypt/cacerts';

/**
 * The script that makes the phone trust the run's CA until it is removed or the phone reboots.
 * `/system` is read-only, so a tmpfs goes over the system store with the existing certificates
 * copied in (from the APEX store on Android 14+, which is the one in use there) plus ours, with
 * the owner, mode and SELinux label of the originals. On Android 14+ Conscrypt reads its own
 * APEX store, and APEX mounts are per mount namespace: the store is bind-mounted over it in the
 * shell's namespace, in zygote's (apps started later inherit it) and in every running app's.
 * Already installed: nothing is mounted twice.
 */
export function installScript(fileName: string): string {
  return `set -e
STORE=${STORE}
APEX=${APEX_STORE}
WORK=${PHONE_WORK_DIR}
if [ -e "$STORE/${fileName}" ]; then echo "phonehome-ca: already installed ${fileName}"; exit 0; fi
rm -rf "$WORK/store"
mkdir -p "$WORK/store"
if [ -d "$APEX" ]; then cp "$APEX"/* "$WORK/store/"; else cp "$STORE"/* "$WORK/store/"; fi
cp "$WORK/${fileName}" "$WORK/store/"
mount -t tmpfs phonehome-ca "$STORE"
cp "$WORK/store"/* "$STORE/"
chown root:root "$STORE" "$STORE"/*
chmod 755 "$STORE"
chmod 644 "$STORE"/*
chcon u:object_r:system_file:s0 "$STORE" "$STORE"/*
if [ -d "$APEX" ]; then
  mount --bind "$STORE" "$APEX"
  for Z in $(pidof zygote zygote64 2>/dev/null); do
    nsenter --mount=/proc/$Z/ns/mnt -- /bin/mount --bind "$STORE" "$APEX"
    for P in $(ps -o PID -P $Z | tail -n +2); do
      nsenter --mount=/proc/$P/ns/mnt -- /bin/mount --bind "$STORE" "$APEX" 2>/dev/null || true
    done
  done
fi
rm -rf "$WORK/store"
echo "phonehome-ca: installed ${fileName}"
`;
}

/**
 * The script that undoes `installScript`: the APEX bind mounts in every app's namespace, in
 * zygote's and the shell's, then the tmpfs. Each unmount may already be gone (an app that died,
 * a reboot): that is fine. It fails only when the certificate is still visible afterwards.
 */
export function removeScript(fileName: string): string {
  return `STORE=${STORE}
APEX=${APEX_STORE}
if [ -d "$APEX" ]; then
  for Z in $(pidof zygote zygote64 2>/dev/null); do
    for P in $(ps -o PID -P $Z | tail -n +2); do
      nsenter --mount=/proc/$P/ns/mnt -- /bin/umount "$APEX" 2>/dev/null || true
    done
    nsenter --mount=/proc/$Z/ns/mnt -- /bin/umount "$APEX" 2>/dev/null || true
  done
  if [ -e "$APEX/${fileName}" ]; then umount "$APEX" 2>/dev/null || true; fi
fi
if [ -e "$STORE/${fileName}" ]; then umount "$STORE" 2>/dev/null || true; fi
rm -rf ${PHONE_WORK_DIR}
if [ -e "$STORE/${fileName}" ]; then echo "phonehome-ca: still present ${fileName}"; exit 1; fi
echo "phonehome-ca: removed ${fileName}"
`;
}

/**
 * Puts the run's CA into the phone's system store for this session (see `installScript`).
 *
 * @example
 *   await installSystemCa(adb, 'su-c', ca.certPem, 'c8750f0d.0');
 */
export async function installSystemCa(
  adb: Adb,
  root: RootMethod,
  certPem: string,
  fileName: string,
): Promise<void> {
  await pushText(adb, certPem, `${PHONE_WORK_DIR}/${fileName}`);
  await pushText(adb, installScript(fileName), `${PHONE_WORK_DIR}/install.sh`);
  const result = await shellResult(adb, asRoot(root, `sh ${PHONE_WORK_DIR}/install.sh`));
  const output = `${result.stdout}${result.stderr}`;
  if (!/phonehome-ca: (installed|already installed)/.test(output)) {
    throw new PhonehomeError(
      'CA_INSTALL',
      `could not put the CA into the system store of ${adb.serial}: ${output.trim().split('\n').slice(-3).join(' / ') || `exit code ${result.code}`}; the run goes on, but apps that trust only system CAs will be recorded as unreadable connections`,
    );
  }
}

/** Removes what `installSystemCa` mounted. Throws when the CA is still trusted afterwards. */
export async function removeSystemCa(adb: Adb, root: RootMethod, fileName: string): Promise<void> {
  // The script lives in the work folder it deletes last, so nothing of phonehome stays behind.
  await pushText(adb, removeScript(fileName), `${PHONE_WORK_DIR}/remove.sh`);
  const result = await shellResult(adb, asRoot(root, `sh ${PHONE_WORK_DIR}/remove.sh`));
  const output = `${result.stdout}${result.stderr}`;
  if (!/phonehome-ca: removed/.test(output)) {
    throw new PhonehomeError(
      'CA_REMOVE',
      `the run's CA is still in the system store of ${adb.serial} (${output.trim() || `exit code ${result.code}`}); reboot the phone to drop it (the store is a tmpfs)`,
    );
  }
}

/** Pushes text to a file on the phone through a private temporary file on this host. */
async function pushText(adb: Adb, text: string, remote: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'phonehome-push-'));
  try {
    const local = join(dir, remote.split('/').pop()!);
    writeFileSync(local, text, { mode: 0o600 });
    await adbCommand(adb, ['push', local, remote]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
