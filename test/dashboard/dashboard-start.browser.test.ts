import { describe, expect, it } from 'vitest';
import { executablePath, pastedLeads, useDashboardPage } from './browser-fixture.js';

/** The page loading, a run started from it and watched through live events, and its login. */
describe.skipIf(!executablePath)('dashboard page in Chromium: loading and starting a run', () => {
  const ui = useDashboardPage();
  let runId = '';

  it('loads without console errors: landmarks, labelled inputs, live connection', async () => {
    const { page } = ui;
    const response = await page.goto(ui.base);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 15_000 });
    expect(await page.textContent('h1')).toBe('outbound-queue');
    expect(await page.title()).toBe('outbound-queue');
    expect(await page.locator('header').count()).toBe(1);
    expect(await page.locator('main').count()).toBe(1);
    const unlabelled = await page.evaluate(
      "[...document.querySelectorAll('input, select, textarea')].filter((c) => c.labels.length === 0).map((c) => c.id)",
    );
    expect(unlabelled).toEqual([]);
    expect(await page.getAttribute('#status', 'aria-live')).toBe('polite');
    await page.waitForSelector('#runs-empty:not([hidden])');
  });

  it('starts a run from the page; the bar moves through live events, without polling', async () => {
    const { page, fx } = ui;
    await ui.fillStart('acme', 3, pastedLeads(36));
    expect(await page.textContent('#start-lead-count')).toBe('36 leads');
    ui.apiRequests = [];
    await page.click('#start-submit');

    await page.waitForSelector('#runs-body tr.selected', { timeout: 15_000 });
    runId = (await page.getAttribute('#runs-body tr.selected', 'data-run-id')) ?? '';
    expect(runId).not.toBe('');
    expect(await page.textContent('#detail-heading')).toBe(`Run ${runId}`);
    expect(await page.getAttribute('#progress', 'aria-valuemax')).toBe('36');
    expect(await page.textContent('#status')).toContain('started with 36 leads');
    const created = await fx.queue.getRun(runId);
    expect(created.total).toBe(36);

    // At least two rises of the bar, seen without reloading.
    const seen: number[] = [await ui.valueNow()];
    await expect
      .poll(
        async () => {
          const v = await ui.valueNow();
          if (v > seen.at(-1)!) seen.push(v);
          return seen.length;
        },
        { timeout: 30_000, interval: 50 },
      )
      .toBeGreaterThanOrEqual(3);
    expect(await ui.detailStatus()).toBe('Running');
    expect(await page.textContent('#progress-label')).toMatch(/^\d+ of 36 finished$/);
    await expect
      .poll(() => page.textContent('#business-live'), { timeout: 10_000 })
      .toMatch(/^Business acme: [0-3] of 3 live calls, \d+ waiting\.$/);
    await page.screenshot({ path: ui.screenshotPath('running-run.png'), fullPage: true });

    // The start, then one read each of the run, its business and its jobs; nothing repeated.
    const { apiRequests } = ui;
    expect(apiRequests.filter((r) => r.startsWith('POST '))).toEqual(['POST /dashboard/api/runs']);
    expect(apiRequests.length).toBeLessThanOrEqual(5);
    expect(new Set(apiRequests).size).toBe(apiRequests.length);
  });

  it('refuses requests that authorize turns down', async () => {
    const stranger = await ui.browser.newContext();
    const anonymous = stranger.request;
    for (const path of ['', 'api/runs', 'assets/dashboard.js']) {
      const response = await anonymous.get(`${ui.base}${path}`);
      expect(response.status(), path).toBe(403);
    }
    const wrong = await anonymous.post(`${ui.base}api/runs/${runId}/resume`, {
      headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' },
      data: '{}',
    });
    expect(wrong.status()).toBe(403);
    await stranger.close();
  });
});
