import { beforeAll, describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/types.js';
import {
  executablePath,
  FAILED_CODE,
  openDashboard,
  pastedLeads,
  useDashboardPage,
} from './browser-fixture.js';

/** A run's controls on the page: pause, resume, stop with hang-up, then what the stopped run shows. */
describe.skipIf(!executablePath)('dashboard page in Chromium: pausing and stopping a run', () => {
  const ui = useDashboardPage();
  let runId = '';

  // A run started from the page, its first call finished: what the page shows once it is going.
  beforeAll(async () => {
    const { page } = ui;
    await openDashboard(ui);
    await ui.fillStart('acme', 3, pastedLeads(36));
    await page.click('#start-submit');
    await page.waitForSelector('#runs-body tr.selected', { timeout: 15_000 });
    runId = (await page.getAttribute('#runs-body tr.selected', 'data-run-id')) ?? '';
    expect(runId).not.toBe('');
    // expect.poll is for tests only: the page waits for the bar itself.
    await page.waitForSelector('#progress[aria-valuenow]:not([aria-valuenow="0"])', { timeout: 30_000 });
  });

  it('pause: status paused, the calls in flight drain; resume: the bar moves again', async () => {
    const { page, fx } = ui;
    expect(await page.isDisabled('#action-resume')).toBe(true);
    await page.click('#action-pause');
    await expect.poll(ui.detailStatus, { timeout: 10_000 }).toBe('Paused');
    expect(await page.isDisabled('#action-pause')).toBe(true);
    expect(await page.isEnabled('#action-resume')).toBe(true);
    expect(await page.textContent('#runs-body tr.selected .badge')).toBe('Paused');
    await expect.poll(() => ui.countOf('in_flight'), { timeout: 15_000 }).toBe(0);
    expect(await page.textContent('#run-live')).toBe('Live calls of this run: 0 of 3.');
    const held = await ui.valueNow();
    expect(held).toBeLessThan(36);
    expect((await fx.queue.getRun(runId)).active).toBe(0);

    await page.click('#action-resume');
    await expect.poll(ui.detailStatus, { timeout: 10_000 }).toBe('Running');
    await expect.poll(ui.valueNow, { timeout: 20_000 }).toBeGreaterThan(held);

    // Stop asks first; Escape keeps the run going and gives the focus back to the button.
    await page.focus('#action-stop');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#stop-dialog[open]');
    expect(await ui.focused()).toBe('stop-cancel');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#stop-dialog:not([open])', { state: 'attached' });
    expect(await ui.focused()).toBe('action-stop');
    expect((await fx.queue.getRun(runId)).status).toBe('running');
  });

  it('stop with hang-up: status stopped, canceled counted apart from completed', async () => {
    const { page, fx } = ui;
    // A failed call among the finished ones first, for the error code below.
    await expect.poll(() => ui.countOf('failed'), { timeout: 20_000 }).toBeGreaterThan(0);
    await expect.poll(() => ui.countOf('in_flight'), { timeout: 10_000 }).toBeGreaterThan(0);
    await page.click('#action-stop-hangup');
    await page.waitForSelector('#stop-dialog[open]');
    expect(await page.textContent('#stop-confirm')).toBe('Stop and hang up');
    await page.click('#stop-confirm');
    await expect.poll(ui.detailStatus, { timeout: 15_000 }).toBe('Stopped');
    for (const id of ['#action-pause', '#action-resume', '#action-stop', '#action-stop-hangup'])
      expect(await page.isDisabled(id)).toBe(true);
    await expect.poll(() => ui.countOf('in_flight'), { timeout: 15_000 }).toBe(0);
    const run = await fx.queue.waitForRun(runId, { timeoutMs: 15_000 });
    expect(run.status).toBe('stopped');
    // The hung-up calls and the queued jobs end canceled, which is not completed.
    await expect.poll(() => ui.countOf('canceled'), { timeout: 10_000 }).toBe(run.counts.canceled);
    expect(run.counts.canceled).toBeGreaterThan(0);
    expect(await ui.countOf('completed')).toBe(run.counts.completed);
    expect(await ui.valueNow()).toBe(36);
    expect(await page.textContent('#progress-label')).toBe(
      `36 of 36 finished, ${run.counts.canceled} of them canceled`,
    );
    // The jobs table is read again once the hung-up calls ended, without a click.
    await expect
      .poll(
        async () =>
          (await ui.attributes('#jobs-body tr', 'data-status')).filter((s) => s === 'canceled').length,
        {
          timeout: 10_000,
        },
      )
      .toBe(run.counts.canceled);
    await page.screenshot({ path: ui.screenshotPath('stopped-run.png'), fullPage: true });
  });

  it('shows per-status counts, and a failed job with its error code', async () => {
    const { page, fx } = ui;
    const run = await fx.queue.getRun(runId);
    for (const [segment, statuses] of [
      ['completed', ['completed']],
      ['busy', ['busy']],
      ['no_answer', ['no_answer']],
      ['failed', ['failed']],
      ['canceled', ['canceled']],
      ['queued', ['queued']],
    ] as [string, JobStatus[]][]) {
      const expected = statuses.reduce((n, s) => n + run.counts[s], 0);
      expect(await ui.countOf(segment), segment).toBe(expected);
    }
    const labels = await page.locator('#counts .count-label').allTextContents();
    expect(labels).toEqual(['Completed', 'Busy', 'No answer', 'Failed', 'Canceled', 'In flight', 'Queued']);
    expect(run.counts.busy + run.counts.no_answer).toBeGreaterThan(0);

    await page.selectOption('#jobs-status', 'failed');
    await page.click('#jobs-filter button[type="submit"]');
    await expect
      .poll(() => ui.attributes('#jobs-body tr', 'data-status'), {
        timeout: 10_000,
      })
      .toEqual(Array(run.counts.failed).fill('failed'));
    expect(await page.textContent('#jobs-body tr td:nth-child(5)')).toBe(FAILED_CODE);
    await page.click('#jobs-body tr th button');
    await page.waitForSelector('#job-detail:not([hidden])');
    expect(await page.textContent('#job-error')).toBe(`${FAILED_CODE}: Connection error`);
    const attempt = page.locator('#attempts-body tr').first();
    expect(await attempt.locator('td').nth(0).textContent()).toBe('Failed');
    expect(await attempt.locator('td').nth(1).textContent()).toBe(FAILED_CODE);
    expect(await attempt.locator('td').nth(2).textContent()).toBe('Connection error');
    await page.screenshot({ path: ui.screenshotPath('failed-job.png'), fullPage: true });
  });
});
