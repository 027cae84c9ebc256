/**
 * The demo in a real browser (Debian's chromium through playwright-core):
 * one session across three worker processes, the concurrency race in each
 * locking mode, login and logout. Screenshots go to test-results/; any
 * console error or page error fails the run.
 * `npm run test:e2e` (DynamoDB Local from test/run.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ENDPOINT, uniqueTable } from '../helpers/dynamo.js';
import { baseEnv, startDemo, waitGone, type DemoProcess } from './demo-process.js';

const RESULTS = fileURLToPath(new URL('../../test-results/', import.meta.url));

describe('the demo in a browser', () => {
  let demo: DemoProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  const text = async (testId: string) => (await page.getByTestId(testId).first().textContent())?.trim() ?? '';
  const shot = (name: string) => page.screenshot({ path: `${RESULTS}${name}.png`, fullPage: true });

  before(async () => {
    mkdirSync(RESULTS, { recursive: true });
    demo = await startDemo(baseEnv({ AWS_ENDPOINT_URL_DYNAMODB: ENDPOINT, DEMO_TABLE: uniqueTable('demo_e2e') }));
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  });

  after(async () => {
    await browser?.close();
    if (demo) {
      const exit = await demo.stop('SIGINT');
      assert.deepEqual(exit, { code: 0, signal: null }, demo.output());
      for (const pid of demo.workerPids) assert.ok(await waitGone(pid), `worker pid ${pid} outlived the demo`);
    }
  });

  it('a first visit starts a session counted at 1, served by one of the three workers', async () => {
    await page.goto(`${demo.url}/`);
    assert.equal(await text('visits'), '1');
    assert.ok(demo.workerPids.includes(Number(await text('pid'))), `pid ${await text('pid')} is one of ${demo.workerPids}`);
    assert.equal(await text('user'), 'anonymous');
    await shot('demo-1-first-visit');
  });

  it('items added to the cart are listed', async () => {
    for (const item of ['Coffee beans', 'Kettle', 'Mug']) {
      await page.getByLabel('product').selectOption(item);
      await page.getByTestId('add').click();
      await page.waitForLoadState();
    }
    assert.deepEqual(await page.getByTestId('cart-item').allTextContents(), ['Coffee beans', 'Kettle', 'Mug']);
    await page.getByRole('button', { name: 'remove Mug' }).click();
    await page.waitForLoadState();
    assert.deepEqual(await page.getByTestId('cart-item').allTextContents(), ['Coffee beans', 'Kettle']);
  });

  it('twenty reloads reach all three workers, each seeing the same cart and a visit count that goes up by one', async () => {
    const seen = new Set<number>();
    let visits = Number(await text('visits'));
    for (let i = 0; i < 20; i++) {
      await page.reload();
      seen.add(Number(await text('pid')));
      visits += 1;
      assert.equal(await text('visits'), String(visits), `reload ${i + 1}`);
      assert.deepEqual(await page.getByTestId('cart-item').allTextContents(), ['Coffee beans', 'Kettle'], `reload ${i + 1}`);
    }
    assert.deepEqual([...seen].sort(), [...demo.workerPids].sort());
    await shot('demo-2-after-reloads');
  });

  for (const mode of ['default', 'none', 'optimistic'] as const) {
    it(`50 concurrent increments in "${mode}" mode ${mode === 'none' ? 'lose some (the seed\'s race)' : 'are all stored'}`, async () => {
      await page.getByLabel('locking mode').selectOption(mode);
      await page.getByTestId('race').click();
      await page.locator('#race-result[data-state="done"], #race-result[data-state="failed"]').waitFor({ timeout: 120_000 });
      assert.equal(await page.locator('#race-result').getAttribute('data-state'), 'done', await page.locator('#race-result').textContent() ?? '');
      assert.equal(await text('race-mode'), mode);
      const expected = Number(await text('race-expected'));
      const stored = Number(await text('race-stored'));
      assert.equal(expected, 50, 'every increment request was answered');
      if (mode === 'none') assert.ok(stored < expected, `stored ${stored} of ${expected}: "none" should lose increments`);
      else assert.equal(stored, expected);
      await shot(`demo-3-race-${mode}`);
    });
  }

  it('the admin panel lists this session and the cluster-wide DynamoDB call count', async () => {
    await page.reload();
    const id = await text('session-id');
    assert.match(await page.getByTestId('sessions').textContent() ?? '', new RegExp(`${id.replace('…', '')}.*\\(you\\)`));
    assert.ok(Number(await text('total-calls')) > 150, 'calls of all workers are counted');
    // The same facts through OpenTelemetry: each worker's metric reader, summed.
    const otel = page.getByTestId('otel-metrics');
    assert.ok(Number((await otel.locator('[data-metric="dynamodb_session.load.duration"]').textContent())?.split(' ')[0]) > 10, 'loads measured by the metric reader');
    assert.ok(Number(await otel.locator('[data-metric="dynamodb_session.capacity.consumed"]').textContent()) > 0, 'capacity units by operation');
    await shot('demo-4-admin');
  });

  it('at a 390 px wide phone viewport nothing runs past its card or the page: the sessions table scrolls inside its card', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    try {
      phone.on('pageerror', (err) => problems.push(`page error (phone): ${err.message}`));
      // The session of the desktop page, so the admin table has this session's row and the stats are full.
      await phone.context().addCookies(await page.context().cookies());
      await phone.goto(`${demo.url}/`);
      assert.ok((await phone.getByTestId('sessions').locator('tbody tr').count()) >= 1);
      // Run in the page (a string: this project's types have no DOM).
      const overflow = (await phone.evaluate(`({
        page: { scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth },
        cards: [...document.querySelectorAll('section, header')].map((el) => ({ what: el.querySelector('h2')?.textContent ?? el.tagName, scrollWidth: el.scrollWidth, width: el.clientWidth })),
      })`)) as { page: { scrollWidth: number; width: number }; cards: Array<{ what: string; scrollWidth: number; width: number }> };
      assert.ok(overflow.page.scrollWidth <= overflow.page.width, `the page scrolls sideways: ${JSON.stringify(overflow.page)}`);
      for (const card of overflow.cards) assert.ok(card.scrollWidth <= card.width, `"${card.what}" runs past its card: ${JSON.stringify(card)}`);
      await phone.screenshot({ path: `${RESULTS}demo-7-phone.png`, fullPage: true });
    } finally {
      await phone.close();
    }
  });

  it('logging in gives the session a new id and keeps the cart; logging out ends it', async () => {
    const before = await text('session-id');
    await page.getByLabel('user name').fill('ada');
    await page.getByTestId('login').click();
    await page.waitForLoadState();
    assert.equal(await text('user'), 'ada');
    assert.notEqual(await text('session-id'), before, 'the id changes at login');
    assert.deepEqual(await page.getByTestId('cart-item').allTextContents(), ['Coffee beans', 'Kettle']);
    await shot('demo-5-logged-in');

    const loggedIn = await text('session-id');
    await page.getByTestId('logout').click();
    await page.waitForLoadState();
    assert.equal(await text('user'), 'anonymous');
    assert.equal(await text('visits'), '1', 'a new session starts after logout');
    assert.notEqual(await text('session-id'), loggedIn);
    assert.deepEqual(await page.getByTestId('cart-item').allTextContents(), []);
    await shot('demo-6-logged-out');
  });

  it('the page logged no console error and threw no page error', () => {
    assert.deepEqual(problems, []);
  });
});
