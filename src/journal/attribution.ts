import type { Destination, PhoneConnection } from '../types.ts';
import { readJournal } from './reader.ts';

/** Most apps named for one destination before "one of N apps" is said instead. */
const MAX_NAMED = 3;

/**
 * Ties what the capture recorded of a TCP connection (an exchange, an unreadable connection) to
 * the app that opened it, from the packet dump's `connection` records: by the destination the
 * phone connected to, among the connections opened before it started. The capture's SOCKS5 side
 * does not know the phone's source port, so when several apps had connected to that address and
 * port, all of them are named ("a or b"): never a guess at one.
 *
 * @example
 *   const apps = new AppAttribution();
 *   apps.add({ at: 1000, address: '203.0.113.9', port: 443, app: 'com.vendor.app' });
 *   apps.appFor({ address: '203.0.113.9', port: 443 }, 1200) // → 'com.vendor.app'
 */
export class AppAttribution {
  private readonly byDestination = new Map<string, PhoneConnection[]>();

  add(connection: PhoneConnection): void {
    const key = `${connection.address}|${connection.port}`;
    const list = this.byDestination.get(key) ?? [];
    list.push(connection);
    this.byDestination.set(key, list);
  }

  get size(): number {
    return this.byDestination.size;
  }

  appFor(destination: Destination | undefined, at: number): string | undefined {
    if (!destination) return undefined;
    const opened = (this.byDestination.get(`${destination.address}|${destination.port}`) ?? [])
      .filter((connection) => connection.at <= at)
      .sort((a, b) => b.at - a.at);
    const apps = [...new Set(opened.map((connection) => connection.app))];
    if (apps.length === 0) return undefined;
    if (apps.length <= MAX_NAMED) return apps.join(' or ');
    return `one of ${apps.length} apps (${apps.slice(0, MAX_NAMED).join(', ')}, …)`;
  }

  /** `item` with the app of its connection, when it has none of its own and one is known. */
  attribute<T extends { app?: string; destination?: Destination }>(item: T, at: number): T {
    if (item.app) return item;
    const app = this.appFor(item.destination, at);
    return app ? { ...item, app } : item;
  }
}

/** The connections a journal holds (a pass over it: they can come after what they attribute). */
export async function loadAttribution(journalPath: string): Promise<AppAttribution> {
  const attribution = new AppAttribution();
  for await (const record of readJournal(journalPath)) {
    if (record.type === 'connection') attribution.add(record.connection);
  }
  return attribution;
}
