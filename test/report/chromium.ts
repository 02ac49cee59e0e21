import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import bundled from '@sparticuz/chromium';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium, used when it is installed (`apt-get install chromium`). */
export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** The Chromium the HTML report is tested in, and the environment it needs to start. */
interface Chromium {
  executablePath: string;
  env?: Record<string, string>;
  /** Where it came from, for error messages. */
  source: string;
}

/**
 * The system's Chromium when there is one (PHONEHOME_CHROMIUM names another binary; "bundled"
 * forces the next choice), else the build that @sparticuz/chromium ships inside its npm package,
 * so `npm install && npm test` needs neither apt nor root. That build is made for Amazon Linux:
 * on other systems it loads NSS from the system, which a fresh machine lacks, so the NSS
 * libraries the package ships for Amazon Linux 2023 are unpacked beside it and put first on its
 * LD_LIBRARY_PATH (glibc, libm and libgcc_s, all it needs besides, are on every Linux).
 */
async function chooseChromium(): Promise<Chromium> {
  const wanted = process.env.PHONEHOME_CHROMIUM;
  if (wanted && wanted !== 'bundled') {
    if (!existsSync(wanted)) {
      throw new Error(
        `PHONEHOME_CHROMIUM=${wanted}: no such file; unset it to use ${SYSTEM_CHROMIUM} or the bundled build`,
      );
    }
    return { executablePath: wanted, source: `PHONEHOME_CHROMIUM=${wanted}` };
  }
  if (wanted !== 'bundled' && existsSync(SYSTEM_CHROMIUM)) {
    return { executablePath: SYSTEM_CHROMIUM, source: SYSTEM_CHROMIUM };
  }
  // The package unpacks its build into os.tmpdir() (/tmp/chromium), with the unpacking user's
  // mode 0700: another user's copy there cannot be run. Each user gets a folder of their own.
  const cache = join(tmpdir(), `phonehome-chromium-uid${process.getuid?.() ?? 'unknown'}`);
  mkdirSync(cache, { recursive: true, mode: 0o700 });
  const tmpdirBefore = process.env.TMPDIR;
  process.env.TMPDIR = cache;
  let executablePath: string;
  try {
    executablePath = await bundled.executablePath();
  } finally {
    if (tmpdirBefore === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmpdirBefore;
  }
  return {
    executablePath,
    env: { LD_LIBRARY_PATH: bundledLibraries(cache) },
    source: `@sparticuz/chromium (${executablePath})`,
  };
}

/** Unpacks the package's NSS libraries into `cache` once per version (atomically: tests may race). */
function bundledLibraries(cache: string): string {
  const require = createRequire(import.meta.url);
  // Its main module is build/cjs/index.cjs; its exports give no other path.
  const root = join(dirname(require.resolve('@sparticuz/chromium')), '..', '..');
  const version = (
    JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
  ).version;
  const target = join(cache, `libs-${version}`);
  if (!existsSync(target)) {
    const staging = mkdtempSync(`${target}-`);
    const tar = brotliDecompressSync(readFileSync(join(root, 'bin', 'al2023.tar.br')));
    const untar = spawnSync('tar', ['-x', '-C', staging], { input: tar });
    if (untar.status !== 0) throw new Error(`cannot unpack Chromium's libraries: ${untar.stderr}`);
    try {
      renameSync(staging, target);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another process got there first
    }
  }
  return [join(target, 'lib'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
}

export interface Browser {
  context: BrowserContext;
  /** Console errors and uncaught exceptions of every page, and any request off this machine's disk. */
  problems: string[];
  /** Opens a file and waits for `ready` (report.html sets data-ready once it has drawn). */
  open(file: string, ready?: string): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Starts headless Chromium with a fresh profile. Fails (never skips) when no Chromium starts,
 * saying which one was tried: an HTML report nobody opened is not tested.
 */
export async function startChromium(): Promise<Browser> {
  const browser = await chooseChromium();
  const profile = mkdtempSync(join(tmpdir(), 'phonehome-chromium-'));
  const context = await chromium
    .launchPersistentContext(profile, {
      executablePath: browser.executablePath,
      ...(browser.env ? { env: { ...process.env, ...browser.env } } : {}),
      headless: true,
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    .catch((error: unknown) => {
      rmSync(profile, { recursive: true, force: true });
      throw new Error(`headless Chromium from ${browser.source} did not start: ${String(error)}`);
    });
  const problems: string[] = [];
  context.on('request', (request) => {
    if (!request.url().startsWith('file://')) problems.push(`request: ${request.url()}`);
  });
  return {
    context,
    problems,
    async open(file, ready = 'body[data-ready="true"]') {
      const page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('dialog', (dialog) => {
        problems.push(`dialog: ${dialog.message()}`);
        void dialog.dismiss();
      });
      await page.goto(`file://${file}`);
      await page.waitForSelector(ready);
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
