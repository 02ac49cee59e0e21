import { join } from 'node:path';
import { loadOrCreateCa } from '../../src/capture/ca.ts';
import { AndroidDevice } from '../../src/device/android/android-device.ts';
import { androidEntry, FakeAdb, type FakeModel, type FakePhone, routeContext } from './fake-adb.ts';
import { RecordingSession } from './recording-session.ts';

/**
 * Routes a fake phone R58M12345 (no system CA), runs `steps` on it, changes the fake's state
 * as the session would have (`meanwhile`), then restores it: what restore ran, its error if it
 * threw, and the phone as it was left.
 */
export async function routeThenRestore(
  phone: FakePhone,
  folder: string,
  steps: (device: AndroidDevice, session: RecordingSession) => Promise<unknown>,
  meanwhile: (model: FakeModel) => void,
): Promise<{ error?: Error; commands: string[]; phone: FakePhone }> {
  const fake = FakeAdb.create({ R58M12345: phone });
  const undo = fake.install();
  try {
    const ca = await loadOrCreateCa(join(folder, 'ca'));
    const context = routeContext(ca, folder);
    const device = new AndroidDevice(androidEntry({ android: { systemCa: 'never' } }), {
      stateDir: join(folder, 'state'),
      tunnelCheckMs: 0,
    });
    await device.route(context);
    await steps(device, new RecordingSession());
    fake.update(meanwhile);
    fake.clearLog();
    const error = await device.restore().then(
      () => undefined,
      (thrown: unknown) => thrown as Error,
    );
    return {
      ...(error ? { error } : {}),
      commands: fake.commands(),
      phone: fake.phone('R58M12345'),
    };
  } finally {
    undo();
    fake.remove();
  }
}
