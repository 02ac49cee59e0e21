import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium: the HTML report is tested in a real browser, never a downloaded one. */
export const CHROMIUM = '/usr/bin/chromium';

export interface Browser {
  context: BrowserContext;
  /** Console errors and uncaught exceptions of every page, and any request off this machine's disk. */
  problems: string[];
  /** Opens a file and waits for `ready` (report.html sets data-ready once it has drawn). */
  open(file: string, ready?: string): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Starts headless Chromium with a fresh profile. Fails (never skips) when Chromium is missing,
 * saying how to install it: an HTML report nobody opened is not tested.
 */
export async function startChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the HTML report is tested in a real headless Chromium. Install Debian's package: apt-get update && apt-get install -y chromium`,
    );
  }
  const profile = mkdtempSync(join(tmpdir(), 'phonehome-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
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
