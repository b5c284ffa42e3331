/**
 * Headless Chromium for browser tests: Debian's `chromium` (/usr/bin/chromium, installed by
 * `.ci/run` like Java) driven by playwright-core. No browser is downloaded. Every launch gets
 * a fresh user-data directory and the flags a closed network needs.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  /** A new page whose console errors, page errors and failed requests are collected. */
  page(): Promise<Page>;
  /** Everything that went wrong in any page so far (console errors, uncaught errors, failed requests). */
  problems(): string[];
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not at ${CHROMIUM}. Install Debian's chromium package (apt-get install chromium), as .ci/run does, or set CHROMIUM_PATH.`,
    );
  }
  const profile = await mkdtemp(join(tmpdir(), 'tallyfy-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  const problems: string[] = [];
  return {
    context,
    async page() {
      const page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error')
          problems.push(`console error on ${page.url()}: ${message.text()}`);
      });
      page.on('pageerror', (error) =>
        problems.push(`page error on ${page.url()}: ${error.message}`),
      );
      page.on('requestfailed', (request) =>
        problems.push(`request failed: ${request.url()} (${request.failure()?.errorText ?? '?'})`),
      );
      return page;
    },
    problems: () => problems,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
