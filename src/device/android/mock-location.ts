import { shell, type Adb } from './adb-client.ts';

/**
 * Appium's settings helper: UiAutomator2 grants it the mock-location app-op when a session
 * starts, and on a real phone `mobile: setGeolocation` starts its foreground LocationService,
 * which goes on mocking the location after the session. appium-android-driver 14.2.0's
 * `mobile: resetGeolocation` does not undo either (it awaits `resetMockLocation.bind(this)`
 * without calling it), so phonehome records both and undoes them itself.
 */
export const SETTINGS_APP = 'io.appium.settings';
const OP = 'android:mock_location';

/** The helper's mock-location mode as `appops` tells it: allow, deny, ignore or default. */
export async function readMockLocationMode(adb: Adb): Promise<string> {
  const out = await shell(adb, ['appops', 'get', SETTINGS_APP, OP]);
  // "MOCK_LOCATION: allow; time=+2m ago"; "No operations." when never set (or not installed).
  return /MOCK_LOCATION: (\w+)/.exec(out)?.[1] ?? 'default';
}

/** Puts the helper's mock-location mode back. */
export async function setMockLocationMode(adb: Adb, mode: string): Promise<void> {
  await shell(adb, ['appops', 'set', SETTINGS_APP, OP, mode]);
}

/** Stops the helper's LocationService, which mocks the location until stopped. */
export async function stopLocationService(adb: Adb): Promise<void> {
  await shell(adb, ['am', 'stopservice', `${SETTINGS_APP}/.LocationService`]);
}
