import { beforeAll, describe, expect, it } from 'vitest';
import { executablePath, openDashboard, useDashboardPage } from './browser-fixture.js';

/** The start form's refusals and retries, the runs list's filters and paging, links to a run. */
describe.skipIf(!executablePath)('dashboard page in Chromium: the start form and the runs list', () => {
  const ui = useDashboardPage();
  let runId = '';

  // An earlier run of acme, stopped: the one a second start is listed above, whose run id a start
  // reuses with another input, and that the address opens.
  beforeAll(async () => {
    const { fx } = ui;
    const first = await fx.queue.startRun({
      businessId: 'acme',
      concurrency: 3,
      leads: [{ to: '+14155550101' }],
      startAt: Date.now() + 3_600_000,
    });
    runId = first.runId;
    await fx.queue.stop(runId);
    await openDashboard(ui);
  });

  it('tells each problem of the leads once, in the typed line numbers; Start is disabled meanwhile', async () => {
    const { page } = ui;
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let posts = 0;
    await page.route('**/dashboard/api/runs', async (route) => {
      if (route.request().method() === 'POST') {
        posts++;
        await held;
      }
      await route.continue();
    });
    await page.fill('#start-business', 'acme');
    await page.fill('#start-concurrency', '2');
    await page.fill(
      '#start-leads',
      ['to,leadId', '+14155550201,a', '555-0199,b', '', '+14155550201,c', '+14155550202,d'].join('\n'),
    );
    ui.expectedFailures = 1;
    await page.click('#start-submit');
    await expect.poll(() => posts, { timeout: 10_000 }).toBe(1);
    expect(await page.isDisabled('#start-submit')).toBe(true);
    await page.click('#start-submit', { force: true });
    release();
    await page.waitForSelector('#start-errors:not([hidden])', { timeout: 10_000 });
    const messages = await page.locator('#start-errors-list li').allTextContents();
    expect(messages).toEqual([
      'Line 3: 555-0199 is not a phone number (write it as + and the country code, e.g. +14155550101)',
      'Line 5 repeats line 2 (+14155550201)',
    ]);
    expect(await page.textContent('#start-errors')).not.toMatch(/row|Invalid input/i);
    expect(ui.expectedFailures).toBe(0);
    await page.locator('#start-form').screenshot({ path: ui.screenshotPath('lead-problems.png') });
    expect(await page.isEnabled('#start-submit')).toBe(true);
    expect(posts).toBe(1);
    expect(await page.getAttribute('#start-leads', 'aria-invalid')).toBe('true');
    await page.unroute('**/dashboard/api/runs');

    // Fixed, the same form starts a second run: listed above the first, which stays.
    await page.fill('#start-leads', ['+14155550201,a', '+14155550299,b'].join('\n'));
    await page.click('#start-submit');
    await expect
      .poll(() => ui.attributes('#runs-body tr', 'data-run-id'), {
        timeout: 15_000,
      })
      .toHaveLength(2);
    const rows = await ui.attributes('#runs-body tr', 'data-run-id');
    expect(rows[1]).toBe(runId);
    expect(await page.getAttribute('#runs-body tr:first-child', 'class')).toBe('selected');
    expect(await page.isHidden('#start-errors')).toBe(true);
  });

  it('filters the runs by business and status, pages with Older runs, adds a new one from the event stream', async () => {
    const { page, fx } = ui;
    // Runs that wait for a later start: live, yet dialing nothing.
    const later = Date.now() + 3_600_000;
    for (let i = 0; i < 27; i++)
      await fx.queue.startRun({
        businessId: 'paged',
        concurrency: 1,
        leads: [{ to: '+14155550300' }],
        startAt: later,
      });
    const newestFirst = (await fx.queue.listRuns({ businessId: 'paged', limit: 100 })).map((r) => r.runId);
    const rowIds = () => ui.attributes('#runs-body tr', 'data-run-id');

    await page.fill('#runs-business', 'paged');
    await page.selectOption('#runs-status', 'running');
    await page.click('#runs-filter button[type="submit"]');
    await expect.poll(rowIds, { timeout: 10_000 }).toEqual(newestFirst.slice(0, 25));
    expect(await page.isVisible('#runs-more')).toBe(true);
    await page.click('#runs-more');
    await expect.poll(rowIds, { timeout: 10_000 }).toEqual(newestFirst);
    expect(await page.isHidden('#runs-more')).toBe(true);
    expect(new Set(await page.locator('#runs-body tr td:nth-child(2)').allTextContents())).toEqual(
      new Set(['paged']),
    );

    // Started elsewhere (not through this page): listed on top by the stream's refresh.
    const fresh = await fx.queue.startRun({
      businessId: 'paged',
      concurrency: 1,
      leads: [{ to: '+14155550301' }],
      startAt: later,
    });
    await expect.poll(rowIds, { timeout: 15_000 }).toEqual([fresh.runId, ...newestFirst]);
    expect(await page.textContent('#runs-body tr:first-child .badge')).toBe('Running');
  });

  it('loads leads from a .csv file into the textarea', async () => {
    const { page } = ui;
    const csv = 'to,leadId\r\n+14155550501,x\r\n\r\n+14155550502,y\r\n';
    await page.setInputFiles('#start-file', {
      name: 'leads.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv),
    });
    await expect
      .poll(() => page.inputValue('#start-leads'), { timeout: 10_000 })
      .toBe(csv.replaceAll('\r\n', '\n'));
    expect(await page.textContent('#start-lead-count')).toBe('2 leads');
    expect(await page.textContent('#status')).toBe('Loaded leads.csv: 2 leads.');
  });

  it('shows a refused start (409) in the alert region; a run id sent again names the same run', async () => {
    const { page, fx } = ui;
    await page.fill('#start-business', 'acme');
    await page.fill('#start-run-id', runId);
    await page.fill('#start-leads', '+14155550401');
    ui.expectedFailures = 1;
    await page.click('#start-submit');
    await page.waitForSelector('#alert:not([hidden])', { timeout: 10_000 });
    expect(await page.getAttribute('#alert', 'role')).toBe('alert');
    expect(await page.textContent('#alert-text')).toBe(
      `Could not start the run: run ${runId} exists with a different input; use a new runId for a new run (IDEMPOTENCY_CONFLICT)`,
    );
    expect(ui.expectedFailures).toBe(0);
    await page.click('#alert-close');
    expect(await page.isHidden('#alert')).toBe(true);

    // The first submission's answer is lost: the page sends the same generated run id again.
    await page.fill('#start-run-id', '');
    await page.fill('#start-concurrency', '1');
    await page.fill('#start-leads', '+14155550402\n+14155550403');
    const bodies: { runId?: string }[] = [];
    let lose = true;
    await page.route('**/dashboard/api/runs', async (route) => {
      bodies.push(route.request().postDataJSON());
      if (lose) {
        lose = false;
        const answered = await route.fetch();
        expect(answered.status()).toBe(201);
        await route.abort('connectionreset');
      } else await route.continue();
    });
    const before = (await fx.queue.listRuns({ businessId: 'acme', limit: 100 })).length;
    ui.expectedFailures = 1;
    await page.click('#start-submit');
    await page.waitForSelector('#alert:not([hidden])', { timeout: 10_000 });
    expect(await page.textContent('#alert-text')).toBe(
      'Could not start the run: the server could not be reached',
    );
    await page.click('#start-submit');
    await expect
      .poll(() => page.textContent('#status'), { timeout: 10_000 })
      .toMatch(/had already been started/);
    await page.unroute('**/dashboard/api/runs');
    expect(bodies).toHaveLength(2);
    expect(bodies[0]?.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(bodies[1]?.runId).toBe(bodies[0]?.runId);
    expect((await fx.queue.listRuns({ businessId: 'acme', limit: 100 })).length).toBe(before + 1);
    expect(await page.getAttribute('#runs-body tr.selected', 'data-run-id')).toBe(bodies[0]?.runId);
    await page.click('#alert-close');
    await fx.queue.stop(bodies[0]!.runId!);
  });

  it('opens the run named in the address (#run=) on load', async () => {
    const { page } = ui;
    await page.goto('about:blank');
    await page.goto(`${ui.base}#run=${encodeURIComponent(runId)}`);
    await expect.poll(() => page.textContent('#detail-heading'), { timeout: 10_000 }).toBe(`Run ${runId}`);
    expect(await ui.detailStatus()).toBe('Stopped');
    // Older than the first page of all runs; listed, and marked, once the list shows acme's.
    await page.fill('#runs-business', 'acme');
    await page.click('#runs-filter button[type="submit"]');
    await page.waitForSelector(`#runs-body tr.selected[data-run-id="${runId}"]`, { timeout: 10_000 });
  });
});
