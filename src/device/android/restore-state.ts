import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readEnvironment } from '../../config/env.ts';
import { PhonehomeError } from '../../errors.ts';
import type { RootMethod } from './root.ts';

/** One thing phonehome changed on a phone, with what it takes to put it back. */
export type PhoneChange =
  | { kind: 'reverse'; port: number }
  /** `previous` is what `settings get global http_proxy` said before ("null" when unset). */
  | { kind: 'proxy'; previous: string }
  | { kind: 'adbd-root' }
  | { kind: 'system-ca'; fileName: string; root: RootMethod }
  /** `api` decides how Wi-Fi is switched back (absent in records of older versions: svc). */
  | { kind: 'wifi'; wasOn: boolean; api?: number }
  | { kind: 'location'; previousMode: string; api: number }
  | { kind: 'contact'; rawContactId: number }
  /** phonehome's iptables chains (the iptables route), removed as root with `root`. */
  | { kind: 'iptables'; root: RootMethod; api: number }
  /** PCAPdroid's VPN capture, started for the run (the vpn route), and its packet dump's path. */
  | { kind: 'vpn-capture'; dump?: string }
  /** Appium's settings helper's mock-location app-op, as it was before the session granted it. */
  | { kind: 'mock-location'; previous: string }
  /** Appium's settings helper's LocationService, started by setting a location on a real phone. */
  | { kind: 'location-service' };

/** The state file of one phone: written before each change, removed once all were undone. */
export interface PhoneState {
  version: 1;
  serial: string;
  deviceId: string;
  /** The process that made the changes: a live one still owns the phone. */
  pid: number;
  startedAt: number;
  changes: PhoneChange[];
}

/**
 * Where state files live: `android-state/` beside the CA folder (by default
 * ~/.config/phonehome/android-state), so that `phonehome restore` and the next run find what a
 * killed run left, whatever folder they run from.
 */
export function defaultStateDir(): string {
  return join(dirname(readEnvironment().caDir), 'android-state');
}

/** The state file of the phone with this serial ("192.168.1.5:5555" becomes a safe name). */
export function stateFilePath(stateDir: string, serial: string): string {
  return join(stateDir, `${serial.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
}

/**
 * The record of what phonehome changed on one phone. Every change is written to disk (atomically:
 * a new file renamed over the old) before it is made, so a run killed at any point leaves a file
 * that says exactly what to undo.
 *
 * @example
 *   const record = ChangeRecord.begin(path, { serial, deviceId });
 *   record.add({ kind: 'reverse', port: 8123 }); // then: adb reverse tcp:8123 tcp:8123
 */
export class ChangeRecord {
  readonly path: string;
  private current: PhoneState;

  private constructor(path: string, state: PhoneState) {
    this.path = path;
    this.current = state;
  }

  /** Starts a record for this process, on disk at once (still empty). */
  static begin(path: string, owner: { serial: string; deviceId: string }): ChangeRecord {
    const record = new ChangeRecord(path, {
      version: 1,
      serial: owner.serial,
      deviceId: owner.deviceId,
      pid: process.pid,
      startedAt: Date.now(),
      changes: [],
    });
    record.save();
    return record;
  }

  /** The record a previous run left, or undefined when there is none. */
  static load(path: string): ChangeRecord | undefined {
    if (!existsSync(path)) return undefined;
    let state: PhoneState;
    try {
      state = JSON.parse(readFileSync(path, 'utf8')) as PhoneState;
    } catch (error) {
      throw new PhonehomeError(
        'STATE_UNREADABLE',
        `the restore record ${path} cannot be read (${String(error)}); reset the phone's proxy by hand with \`adb shell settings put global http_proxy :0\`, then delete the file`,
        { cause: error },
      );
    }
    if (state.version !== 1 || !Array.isArray(state.changes)) {
      throw new PhonehomeError(
        'STATE_UNREADABLE',
        `the restore record ${path} is from another phonehome version; reset the phone by hand (\`adb shell settings put global http_proxy :0\`) and delete it`,
      );
    }
    return new ChangeRecord(path, state);
  }

  get state(): Readonly<PhoneState> {
    return this.current;
  }

  get changes(): readonly PhoneChange[] {
    return this.current.changes;
  }

  /** Records a change before it is made. */
  add(change: PhoneChange): void {
    this.current.changes.push(change);
    this.save();
  }

  /** Forgets a change once undone (or when making it failed before it took effect). */
  remove(change: PhoneChange): void {
    this.current.changes = this.current.changes.filter((c) => c !== change);
    this.save();
  }

  /** Deletes the file: nothing is left to undo. */
  finish(): void {
    rmSync(this.path, { force: true });
  }

  private save(): void {
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      const fresh = `${this.path}.${process.pid}.tmp`;
      writeFileSync(fresh, JSON.stringify(this.current, null, 2) + '\n', { mode: 0o600 });
      renameSync(fresh, this.path);
    } catch (error) {
      throw new PhonehomeError(
        'STATE_WRITE',
        `cannot write the restore record ${this.path}: ${String(error)}; nothing is changed on a phone without it — make the folder writable or set PHONEHOME_CA_DIR elsewhere`,
        { cause: error },
      );
    }
  }
}

/** Whether a process with this id is alive (a state file's owner). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
