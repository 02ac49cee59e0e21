import { PhonehomeError } from '../../errors.ts';
import type { ProbeRoute } from '../device.ts';
import { shell, type Adb } from './adb-client.ts';
import { readGlobalProxy } from './routing.ts';

/**
 * The route probe of a phone on USB routed by the global HTTP proxy: the phone itself sends it,
 * over adb shell, along its apps' path — it reads the global proxy setting (what every
 * proxy-aware app reads) and sends the probe request to that address with toybox's `nc`, which
 * stock Android has had since 6.0; the address is `adb reverse`'s end on the phone, whose far end
 * is the capture. So the probe arrives only if the setting is still phonehome's and the tunnel
 * still carries. (`am start -a VIEW` would need a browser set up past its first-run screens.)
 *
 * @example
 *   await adbProxyProbe(adb, 8123).send('http://probe.phonehome.invalid/ab12/routing', undefined);
 */
export function adbProxyProbe(adb: Adb, port: number): ProbeRoute {
  return {
    how: `adb shell: the global proxy setting read, and the request sent to it with nc (127.0.0.1:${port}, adb reverse to the capture)`,
    fix: `check during a run that \`adb reverse --list\` has tcp:${port} and \`adb shell settings get global http_proxy\` says 127.0.0.1:${port}; a cable or adb server restart drops the tunnel, and some vendors' settings apps reset the proxy`,
    arrives: 'live',
    async send(url: string): Promise<void> {
      const proxy = await readGlobalProxy(adb);
      if (proxy !== `127.0.0.1:${port}`) {
        throw new PhonehomeError(
          'PROBE_UNSENT',
          `the phone's global proxy is '${proxy}', not phonehome's 127.0.0.1:${port}: its apps' traffic does not go to the capture`,
        );
      }
      const host = new URL(url).host;
      // printf's format is single-quoted: the URL is ours (host, hex nonce, moment), no quote in it.
      const request = `GET ${url} HTTP/1.1\\r\\nHost: ${host}\\r\\nConnection: close\\r\\n\\r\\n`;
      const answer = await shell(adb, `printf '${request}' | nc -w 5 127.0.0.1 ${port}`);
      if (/not found/.test(answer)) {
        throw new PhonehomeError(
          'PROBE_UNSENT',
          'the phone has no `nc` (toybox before Android 6.0), so it cannot send the probe from adb shell',
        );
      }
      if (!/^HTTP\/1\.[01] 200/.test(answer)) {
        throw new PhonehomeError(
          'PROBE_UNSENT',
          `the phone's request to 127.0.0.1:${port} got no answer from the capture (${answer.trim().split('\n')[0] || 'nothing'})`,
        );
      }
    },
  };
}
