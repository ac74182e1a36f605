/**
 * A headless Chromium (Debian's `chromium` package, driven by playwright-core) for the
 * end-to-end tests of the service's pages. Without /usr/bin/chromium those tests are reported
 * as skipped, never as passed.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { scaled, tempDir } from '../helpers.js';

export const chromiumPath = '/usr/bin/chromium';

/** Why a browser test cannot run here (`what` names it), or false when it can. */
export function browserSkip(what: string): string | false {
  return existsSync(chromiumPath)
    ? false
    : `Chromium is missing (${chromiumPath} does not exist), so ${what} did not run; install it with: apt-get update && apt-get install -y chromium`;
}

/** A headless Chromium that may reach only the service on `port`, with the page's errors and any blocked request kept. */
export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Requests the page tried to send anywhere but this service; they are blocked. */
  foreign: string[];
  /** Errors the page's own scripts threw or logged. */
  pageErrors: string[];
  profileDir: string;
  /** Runs one step as a person would; on failure saves a screenshot and names it in the error. */
  step<T>(what: string, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function openBrowser(port: number, options: { viewport?: { width: number; height: number } } = {}): Promise<Browser> {
  const foreign: string[] = [];
  const pageErrors: string[] = [];
  const profileDir = await tempDir('chromium-profile');
  // launchPersistentContext is how playwright takes a user data dir of our own: it
  // refuses --user-data-dir among the args.
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Debian's launcher means to add this when /dev/shm is small, but its check can
      // misfire; small /dev/shm (containers) crashes the renderer without it.
      '--disable-dev-shm-usage',
    ],
    viewport: options.viewport ?? { width: 1280, height: 900 },
    timeout: scaled(20_000),
  });
  // Only loopback is reachable here, and the UI is meant to need nothing else: block and
  // record anything that goes elsewhere instead of waiting for it to time out.
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1' && url.port === String(port)) return route.continue();
    if (url.protocol === 'data:' || url.protocol === 'blob:') return route.continue();
    foreign.push(route.request().url());
    return route.abort('blockedbyclient');
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(scaled(10_000));
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(msg.text());
  });
  return {
    context,
    page,
    foreign,
    pageErrors,
    profileDir,
    async step<T>(what: string, fn: () => Promise<T>): Promise<T> {
      try {
        return await fn();
      } catch (err) {
        let shot: string;
        try {
          const dir = await tempDir('ui-e2e-failure');
          shot = path.join(dir, `${what.replace(/\W+/g, '-')}.png`);
          await page.screenshot({ path: shot, fullPage: true });
        } catch (shotErr) {
          shot = `(screenshot failed: ${(shotErr as Error).message})`;
        }
        const extra = pageErrors.length ? `; page errors: ${pageErrors.join(' | ')}` : '';
        throw new Error(`UI step "${what}" failed: ${(err as Error).message}\nscreenshot: ${shot}${extra}`, { cause: err });
      }
    },
    async close() {
      await context.close().catch(() => undefined);
      await fs.rm(profileDir, { recursive: true, force: true });
    },
  };
}
