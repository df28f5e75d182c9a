/**
 * Debian's chromium for the browser tests (reports, and Jupyter Notebook driving the hanlab kernel):
 * headless, offline (no background requests, no QUIC), Korean locale, a profile of the test's own.
 */
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(profile: string, viewport: { width: number; height: number }): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport,
    locale: 'ko-KR',
  });
}
