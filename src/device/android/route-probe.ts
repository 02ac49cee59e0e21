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

/**
 * An address no app ever reaches (TEST-NET-1, RFC 5737): on the iptables route the probe goes
 * there, so only the phone's nat redirect can bring it to the capture.
 */
const UNROUTED = '192.0.2.1';

/**
 * The route probe of a rooted phone on the iptables route: the phone sends the request with
 * toybox's `nc` from adb shell to an address outside the phone, port 80, as an app's connection
 * goes; phonehome's nat rules (no owner match: every uid's TCP) redirect it to `adb reverse`'s
 * end and so to the capture. It arrives only if the redirect rules and the tunnel are both there.
 *
 * @example
 *   await adbRedirectProbe(adb, 8123).send('http://probe.phonehome.invalid/ab12/routing', undefined);
 */
export function adbRedirectProbe(adb: Adb, port: number): ProbeRoute {
  return {
    how: `adb shell: nc to ${UNROUTED}:80, redirected by phonehome's iptables nat rules to 127.0.0.1:${port} (adb reverse to the capture)`,
    fix: `check during a run that \`adb shell su -c 'iptables -t nat -S'\` still jumps to phonehome's chain with the REDIRECT to ${port}, and that \`adb reverse --list\` has tcp:${port}`,
    arrives: 'live',
    async send(url: string): Promise<void> {
      const host = new URL(url).host;
      const path = new URL(url).pathname;
      // Redirected, the request arrives as to a server: origin-form, named by its Host header.
      const request = `GET ${path} HTTP/1.1\\r\\nHost: ${host}\\r\\nConnection: close\\r\\n\\r\\n`;
      const answer = await shell(adb, `printf '${request}' | nc -w 5 ${UNROUTED} 80`);
      if (/not found/.test(answer)) {
        throw new PhonehomeError(
          'PROBE_UNSENT',
          'the phone has no `nc` (toybox before Android 6.0), so it cannot send the probe from adb shell',
        );
      }
      if (!/^HTTP\/1\.[01] 200/.test(answer)) {
        throw new PhonehomeError(
          'PROBE_UNSENT',
          `the phone's request to ${UNROUTED}:80 got no answer from the capture (${answer.trim().split('\n')[0] || 'nothing'})`,
        );
      }
    },
  };
}
