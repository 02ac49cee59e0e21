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

/** The name every phonehome mount has, so that it can be found in any namespace's mountinfo. */
export const MOUNT_SOURCE = 'phonehome-ca';

/**
 * Shell functions both scripts use (POSIX sh: Android's mksh and toybox, busybox):
 * `same F` — F is our certificate, byte for byte (every phonehome CA has the same subject, so
 * the same file name: the name alone says nothing); `ours P M` — process P's mount namespace
 * has one of phonehome's mounts at M; `shows P` — process P's namespace shows our certificate in
 * the APEX store; `children Z` — the processes zygote Z forked; `zygotes` —
 * the zygotes themselves: a child zygote just forked carries its name until it becomes an app
 * ("zygote64" for a few milliseconds), so a process whose parent is also named zygote is not one.
 */
function scriptFunctions(fileName: string): string {
  return `STORE=${STORE}
APEX=${APEX_STORE}
WORK=${PHONE_WORK_DIR}
MINE="$WORK/${fileName}"
same() { [ -f "$1" ] && cmp -s "$1" "$MINE"; }
shows() { nsenter --mount=/proc/$1/ns/mnt -- cmp -s "$APEX/${fileName}" "$MINE" 2>/dev/null; }
ours() { grep -qE "^[^ ]+ [^ ]+ [^ ]+ [^ ]+ $2 .* - tmpfs ${MOUNT_SOURCE} " "/proc/$1/mountinfo" 2>/dev/null; }
children() {
  for S in /proc/[0-9]*/stat; do
    read -r C _ _ PP _ < "$S" 2>/dev/null || continue
    [ "$PP" = "$1" ] && echo "$C"
  done
}
zygotes() {
  NAMED=" $(pidof zygote zygote64 2>/dev/null | tr '\n' ' ') "
  for Z in $NAMED; do
    read -r _ _ _ PP _ < "/proc/$Z/stat" 2>/dev/null || continue
    case "$NAMED" in *" $PP "*) ;; *) echo "$Z" ;; esac
  done
}
`;
}

/**
 * The script that makes the phone trust the run's CA until it is removed or the phone reboots.
 * `/system` is read-only, so a tmpfs goes over the system store with the existing certificates
 * copied in (from the APEX store on Android 14+, which is the one in use there) plus ours, with
 * the owner, mode and SELinux label of the originals. On Android 14+ Conscrypt reads its own
 * APEX store, and APEX mounts are per mount namespace: the store is bind-mounted over it in the
 * shell's namespace, in zygote's (apps started later inherit it) and in every running app's, and
 * checked in zygote's. "Already installed" means our certificate, byte for byte, is what both
 * stores show: a file of the same name (an older phonehome CA) is replaced in the copy.
 */
export function installScript(fileName: string): string {
  return `set -e
${scriptFunctions(fileName)}
if same "$STORE/${fileName}" && { [ ! -d "$APEX" ] || same "$APEX/${fileName}"; }; then
  echo "phonehome-ca: already installed ${fileName}"; exit 0
fi
rm -rf "$WORK/store"
mkdir -p "$WORK/store"
if [ -d "$APEX" ]; then cp "$APEX"/* "$WORK/store/"; else cp "$STORE"/* "$WORK/store/"; fi
cp "$MINE" "$WORK/store/${fileName}"
mount -t tmpfs ${MOUNT_SOURCE} "$STORE"
cp "$WORK/store"/* "$STORE/"
chown root:root "$STORE" "$STORE"/*
chmod 755 "$STORE"
chmod 644 "$STORE"/*
# Without SELinux (a custom build that disabled it) there is no label to set.
chcon u:object_r:system_file:s0 "$STORE" "$STORE"/* 2>/dev/null || [ ! -e /sys/fs/selinux/enforce ]
if [ -d "$APEX" ]; then
  mount --bind "$STORE" "$APEX"
  # One bind per namespace: a second over a shared store multiplies through propagation. A
  # namespace already showing our certificate (the shell's, zygote's shared by both zygotes or by
  # a child not yet an app) is left as it is; one showing an older run's is bound over.
  for Z in $(zygotes); do
    shows "$Z" || nsenter --mount=/proc/$Z/ns/mnt -- /bin/mount --bind "$STORE" "$APEX"
    if ! shows "$Z"; then echo "phonehome-ca: not visible to zygote $Z"; exit 1; fi
    for P in $(children "$Z"); do
      shows "$P" && continue
      nsenter --mount=/proc/$P/ns/mnt -- /bin/mount --bind "$STORE" "$APEX" 2>/dev/null || true
    done
  done
fi
rm -rf "$WORK/store"
echo "phonehome-ca: installed ${fileName}"
`;
}

/**
 * The script that undoes `installScript` in every mount namespace that shows one of phonehome's
 * mounts — the shell's, zygote's, every app's, also one forked since the install — found by its
 * mountinfo, not by guessing which processes to visit: the APEX bind first, then the tmpfs,
 * until none is left. It sweeps again while a namespace still shows one (an app forked during
 * the sweep inherits the mounts of the zygote it came from), and fails naming what is left.
 */
export function removeScript(fileName: string): string {
  return `${scriptFunctions(fileName)}
for SWEEP in 1 2 3 4 5; do
  LEFT=""
  for M in /proc/[0-9]*/mountinfo; do
    P=\${M#/proc/}; P=\${P%/mountinfo}
    for TRY in 1 2 3 4; do
      if ours "$P" "$APEX"; then nsenter --mount=/proc/$P/ns/mnt -- /bin/umount "$APEX" 2>/dev/null || break
      elif ours "$P" "$STORE"; then nsenter --mount=/proc/$P/ns/mnt -- /bin/umount "$STORE" 2>/dev/null || break
      else break; fi
    done
    if ours "$P" "$APEX" || ours "$P" "$STORE"; then LEFT="$LEFT $P"; fi
  done
  [ -z "$LEFT" ] && break
done
rm -rf "$WORK"
if [ -n "$LEFT" ]; then echo "phonehome-ca: still mounted in the namespaces of$LEFT"; exit 1; fi
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

/**
 * Removes what `installSystemCa` mounted. When the root script cannot (su denied, uninstalled, a
 * phone rebooted into a build without it), the plain shell looks: with no phonehome mount in its
 * namespace and no file of that name in the store, the CA is gone (a reboot drops the tmpfs) and
 * the change is done. Otherwise it throws, saying what would remove it.
 */
export async function removeSystemCa(adb: Adb, root: RootMethod, fileName: string): Promise<void> {
  // The script lives in the work folder it deletes last, so nothing of phonehome stays behind.
  await pushText(adb, removeScript(fileName), `${PHONE_WORK_DIR}/remove.sh`);
  const result = await shellResult(adb, asRoot(root, `sh ${PHONE_WORK_DIR}/remove.sh`));
  const output = `${result.stdout}${result.stderr}`.trim();
  if (/phonehome-ca: removed/.test(output)) return;
  const seen = await shellView(adb, fileName);
  if (!seen.mounted && !seen.file) return;
  const why = output.split('\n').slice(-2).join(' / ') || `exit code ${result.code}`;
  throw new PhonehomeError(
    'CA_REMOVE',
    seen.mounted
      ? `the run's CA is still mounted over the system store of ${adb.serial} (${why}); when root works again (${root === 'adbd' ? '`adb root`' : 'allow su for the shell in the root manager'}), run \`phonehome restore\`, or reboot the phone: phonehome's store is a tmpfs, gone at boot`
      : `${STORE}/${fileName} is in the system store of ${adb.serial} but not on phonehome's tmpfs (${why}): something else put it there (a Magisk module, a remount), so a reboot will not remove it; remove it where it was installed`,
  );
}

/** What the shell, without root, sees of phonehome's CA: its mount, and a file of its name. */
async function shellView(adb: Adb, fileName: string): Promise<{ mounted: boolean; file: boolean }> {
  const mountinfo = await shellResult(adb, ['cat', '/proc/self/mountinfo']);
  const listed = await shellResult(adb, ['ls', `${STORE}/${fileName}`]);
  return {
    mounted: new RegExp(` - tmpfs ${MOUNT_SOURCE} `).test(mountinfo.stdout),
    file:
      listed.code === 0 &&
      listed.stdout.includes(fileName) &&
      !/No such file/.test(listed.stdout + listed.stderr),
  };
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
