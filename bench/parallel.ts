/**
 * `npm run bench:parallel`: wall time of the virtual F-Secure scenario on 1, 4 and 8 devices in
 * parallel, and the harness's peak RSS per device. Each size runs in a fresh child process so its
 * memory is its own. Targets (issue: nightly CI): 8 devices in under 2× the wall time of 1, under
 * 150 MB of harness memory per device. Figures, not assertions: a shared machine is noisy.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SIZES = [1, 4, 8];

if (process.argv[2] === '--child') {
  await child(Number(process.argv[3]));
} else {
  parent();
}

function parent(): void {
  const results: { devices: number; wallMs: number; peakRssMb: number }[] = [];
  for (const devices of SIZES) {
    const out = spawnSync(
      process.execPath,
      ['--import', 'tsx', import.meta.filename, '--child', String(devices)],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const line = out.stdout.trim().split('\n').at(-1) ?? '';
    if (out.status !== 0 || !line.startsWith('{'))
      throw new Error(`the ${devices}-device run failed:\n${out.stdout}`);
    results.push(JSON.parse(line));
  }
  console.log('devices  wall time   peak RSS   RSS per device');
  for (const r of results) {
    console.log(
      `${String(r.devices).padStart(7)}  ${(r.wallMs / 1000).toFixed(2).padStart(7)} s  ${r.peakRssMb.toFixed(0).padStart(6)} MB  ${(r.peakRssMb / r.devices).toFixed(0).padStart(9)} MB`,
    );
  }
  const one = results[0]!;
  const eight = results.at(-1)!;
  const ratio = eight.wallMs / one.wallMs;
  console.log(
    `\n8 devices took ${ratio.toFixed(2)}× the wall time of 1 (target < 2×); ${(eight.peakRssMb / 8).toFixed(0)} MB per device at 8 (target < 150 MB)`,
  );
  console.log(
    `wall_1=${(one.wallMs / 1000).toFixed(2)} wall_8=${(eight.wallMs / 1000).toFixed(2)} ratio=${ratio.toFixed(2)} rss_per_device_mb=${(eight.peakRssMb / 8).toFixed(0)}`,
  );
}

async function child(devices: number): Promise<void> {
  const { loadDevices, findDevice } = await import('../src/config/devices.ts');
  const { runScenario } = await import('../src/scenario/run.ts');
  const scenario = (await import('../scenarios/fsecure-out-of-box.scenario.ts')).default;
  const base = findDevice(
    loadDevices(join(import.meta.dirname, '..', 'devices.json')),
    'virtual-redmi-1s-2014',
  );
  const dir = mkdtempSync(join(tmpdir(), 'phonehome-bench-'));
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: devices }, (_, index) =>
        runScenario({
          scenario,
          entry: { ...base, id: `bench-${index + 1}` },
          reportsDir: join(dir, 'reports'),
          caDir: join(dir, 'ca'),
        }),
      ),
    );
  } finally {
    clearInterval(sampler);
    rmSync(dir, { recursive: true, force: true });
  }
  const wallMs = performance.now() - started;
  console.log(
    JSON.stringify({ devices, wallMs, peakRssMb: Math.max(peak, process.memoryUsage().rss) / 1e6 }),
  );
}
