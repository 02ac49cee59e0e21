import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  sendDirect,
  type DirectRoute,
  type IncomingResponse,
  type OutgoingRequest,
} from './network.ts';

/**
 * The virtual phone on a network of its own: a Linux network namespace whose only way out is
 * the gateway, as a real phone's Wi-Fi reaches only the access point. The phone's radio is a
 * small child process started inside the namespace (`ip netns exec`), since a socket belongs
 * to the namespace of the process that opens it; every request the phone makes is handed to it
 * and sent from there, with no proxy, exactly as a phone with no proxy setting sends it.
 *
 * @example
 *   const radio = await NamespaceRadio.start('ph-phone', { dnsServer: '10.77.0.1', trustedCa, timeoutMs });
 *   await radio.send({ method: 'GET', url: 'https://api.vendor.example/', headers: {} });
 *   await radio.stop();
 */
export class NamespaceRadio {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<
    number,
    { resolve: (r: IncomingResponse) => void; reject: (e: Error) => void }
  >();
  private next = 0;
  private exited?: string;

  private constructor(child: ChildProcess) {
    this.child = child;
    child.on('message', (message: Reply) => {
      const waiter = this.waiting.get(message.id);
      if (!waiter) return;
      this.waiting.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(message.error));
      else waiter.resolve(message.response!);
    });
    child.on('exit', (code, signal) => {
      this.exited = `the phone's network process in its namespace ended (${signal ?? `exit ${code}`})`;
      for (const waiter of this.waiting.values()) waiter.reject(new Error(this.exited));
      this.waiting.clear();
    });
  }

  static async start(namespace: string, route: DirectRoute): Promise<NamespaceRadio> {
    if (!/^[A-Za-z0-9_.-]+$/.test(namespace)) {
      throw new Error(`appium:networkNamespace '${namespace}' is not a namespace name`);
    }
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        namespace,
        process.execPath,
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        JSON.stringify(route),
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        cwd: fileURLToPath(new URL('..', import.meta.url)),
      },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('error', (error) =>
        reject(
          new Error(`cannot start the phone's network in namespace ${namespace}: ${error.message}`),
        ),
      );
      child.once('exit', (code) =>
        reject(
          new Error(
            `the phone's network in namespace ${namespace} did not start (exit ${code}): ${stderr.trim() || 'no message'}`,
          ),
        ),
      );
    });
    return new NamespaceRadio(child);
  }

  send(request: OutgoingRequest): Promise<IncomingResponse> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    const id = (this.next += 1);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ id, request });
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    await gone;
  }
}

interface Reply {
  id: number;
  response?: IncomingResponse;
  error?: string;
}

// Inside the namespace: send what the phone hands over, answer each with its id.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  const route = JSON.parse(process.argv[2] ?? '{}') as DirectRoute;
  process.on('message', (message: { id: number; request: OutgoingRequest }) => {
    sendDirect(message.request, route).then(
      (response) => process.send!({ id: message.id, response } satisfies Reply),
      (error: Error) => process.send!({ id: message.id, error: error.message } satisfies Reply),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send('ready');
}
