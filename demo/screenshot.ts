/**
 * Makes docs/demo.png, the README's picture of the demo: starts `npm start`
 * as it runs for a user (embedded DynamoDB Local), fills a cart, reloads
 * across the workers, runs the race in every mode (ending on "none", whose
 * loss is the picture's point) and takes a full-page screenshot.
 * `node --import tsx demo/screenshot.ts [out.png]`; needs /usr/bin/chromium.
 */
import './quiet-sdk.js';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { baseEnv, startDemo } from '../test/e2e/demo-process.js';

const out = process.argv[2] ?? fileURLToPath(new URL('../docs/demo.png', import.meta.url));
const demo = await startDemo(baseEnv({}));
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${demo.url}/`);
  for (const item of ['Coffee beans', 'Burr grinder', 'Filter papers']) {
    await page.getByLabel('product').selectOption(item);
    await page.getByTestId('add').click();
    await page.waitForLoadState();
  }
  for (let i = 0; i < 5; i++) await page.reload();
  for (const mode of ['optimistic', 'pessimistic', 'none']) {
    await page.getByLabel('locking mode').selectOption(mode);
    await page.getByTestId('race').click();
    await page.locator('#race-result[data-state="done"], #race-result[data-state="failed"]').waitFor({ timeout: 120_000 });
    console.log(`screenshot: ${mode}: ${(await page.locator('#race-result').textContent())?.trim()}`);
  }
  await page.screenshot({ path: out, fullPage: true });
  console.log(`screenshot: wrote ${out}`);
} finally {
  await browser.close();
  await demo.stop('SIGINT');
}
