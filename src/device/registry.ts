import type { DeviceEntry, DeviceKind } from '../config/devices.ts';
import { PhonehomeError } from '../errors.ts';
import { AndroidDevice } from './android/android-device.ts';
import type { Device } from './device.ts';
import { RemoteDevice } from './remote.ts';
import { VirtualDevice } from './virtual.ts';

type Factory = (entry: DeviceEntry) => Device;

/** Device kinds by name: a new kind adds its factory here. */
const kinds = new Map<DeviceKind, Factory>([
  ['virtual', (entry) => new VirtualDevice(entry)],
  ['remote', (entry) => new RemoteDevice(entry)],
  ['android', (entry) => new AndroidDevice(entry)],
]);

/** The Device for a devices.json entry. */
export function createDevice(entry: DeviceEntry): Device {
  const factory = kinds.get(entry.kind);
  if (!factory) {
    throw new PhonehomeError(
      'DEVICE_KIND_UNAVAILABLE',
      `device '${entry.id}' is of kind '${entry.kind}', which this version of phonehome cannot drive yet; known kinds: ${[...kinds.keys()].join(', ')}`,
    );
  }
  return factory(entry);
}
