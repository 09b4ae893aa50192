import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type ConsoleMessage, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardHandler, toNodeHandler } from '../../src/dashboard.js';
import type { DialContext, Dialer, DialRequest, DialResult } from '../../src/dialer/dialer.js';
import type { CallStatus, JobStatus } from '../../src/types.js';
import { requireChromium } from '../support/chromium.js';
import { type QueueFixture, startQueue } from '../support/queue-fixture.js';

const executablePath = requireChromium();
const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));
const TOKEN = 'Bearer t';

/** The error code a lead whose number ends in 9 fails with (Twilio's "connection error"). */
const FAILED_CODE = '31005';

/**
 * Calls whose outcome the number tells (ending 3: no answer, 7: busy, 9: failed with
 * {@link FAILED_CODE}, else completed), 700 to 1,150 ms long so a page can watch them, and that
 * end `canceled` when hung up.
 */
class ScriptedDialer implements Dialer {
  private readonly calls = new Map<string, { timer: NodeJS.Timeout; end: (status: CallStatus) => void }>();
  private next = 1;

  async dial(req: DialRequest, ctx: DialContext): Promise<DialResult> {
    const callId = `CA${String(this.next++).padStart(6, '0')}`;
    const base = { jobId: req.jobId, lockToken: req.lockToken, callId };
    const digit = Number(req.to.at(-1));
    // Progress is reported after dial() returns, in order, as a provider's webhooks would arrive.
    const progress = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      for (const status of ['initiated', 'ringing', 'in-progress'] as const)
        await ctx.report({ ...base, status });
    });
    let ended = false;
    const end = (status: CallStatus) => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      this.calls.delete(callId);
      const failure = status === 'failed' ? { errorCode: FAILED_CODE, errorMessage: 'Connection error' } : {};
      void progress
        .then(() => ctx.report({ ...base, status, durationSec: status === 'completed' ? 1 : 0, ...failure }))
        .catch(() => {});
    };
    const outcome: CallStatus =
      digit === 3 ? 'no-answer' : digit === 7 ? 'busy' : digit === 9 ? 'failed' : 'completed';
    const timer = setTimeout(() => end(outcome), 700 + ((digit * 50) % 450));
    this.calls.set(callId, { timer, end });
    return { callId };
  }

  async hangup(callId: string): Promise<void> {
    this.calls.get(callId)?.end('canceled');
  }
}

/** `n` leads as a user pastes them: a header line, then `number,leadId` per line. */
function pastedLeads(n: number): string {
  const lines = ['to,leadId'];
  for (let i = 0; i < n; i++) lines.push(`+1415555${String(100 + i).padStart(4, '0')},lead-${i}`);
  return lines.join('\n');
}

describe.skipIf(!executablePath)('dashboard page in Chromium', () => {
  let fx: QueueFixture;
  let server: Server;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  /** Console errors and warnings and page errors of the current test. */
  let problems: string[] = [];
  /** API requests (the event stream left out) the page made, for the no-polling check. */
  let apiRequests: string[] = [];
  /** Responses with an error status that the current test expects the browser to log. */
  let expectedFailures = 0;
  let runId = '';

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    fx = await startQueue(new ScriptedDialer());
    const handler = createDashboardHandler({
      queue: fx.queue,
      basePath: '/dashboard',
      authorize: (request) => request.headers.get('authorization') === TOKEN,
    });
    server = createServer(toNodeHandler(handler));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dashboard/`;
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    context = await browser.newContext({
      extraHTTPHeaders: { authorization: TOKEN },
      viewport: { width: 1400, height: 1100 },
    });
    page = await context.newPage();
    const note = (what: string) => problems.push(what);
    page.on('console', (msg: ConsoleMessage) => {
      if (msg.type() !== 'error' && msg.type() !== 'warning') return;
      // A 4xx answer the test provoked is logged by the browser itself, not by the page.
      if (expectedFailures > 0 && msg.text().startsWith('Failed to load resource')) {
        expectedFailures--;
        return;
      }
      note(`console.${msg.type()}: ${msg.text()} (${msg.location().url})`);
    });
    page.on('pageerror', (err) => note(`pageerror: ${err.message}`));
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/dashboard/api/') && url.pathname !== '/dashboard/api/events')
        apiRequests.push(`${request.method()} ${url.pathname}${url.search}`);
    });
  });

  afterEach(() => {
    const seen = problems;
    problems = [];
    expectedFailures = 0;
    expect(seen).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await fx?.close();
  });

  const valueNow = async () => Number(await page.getAttribute('#progress', 'aria-valuenow'));
  const countOf = async (segment: string) =>
    Number((await page.textContent(`#counts [data-segment="${segment}"] .count-value`))?.replace(/\D/g, ''));
  const detailStatus = () => page.textContent('#detail-status');
  const focused = () => page.evaluate('document.activeElement && document.activeElement.id');
  const attributes = (selector: string, name: string) =>
    page.$$eval(selector, (rows, attribute) => rows.map((row) => row.getAttribute(attribute)), name);

  it('loads without console errors: landmarks, labelled inputs, live connection', async () => {
    const response = await page.goto(base);
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
    await page.fill('#start-business', 'acme');
    await page.fill('#start-concurrency', '3');
    await page.fill('#start-leads', pastedLeads(36));
    expect(await page.textContent('#start-lead-count')).toBe('36 leads');
    apiRequests = [];
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
    const seen: number[] = [await valueNow()];
    await expect
      .poll(
        async () => {
          const v = await valueNow();
          if (v > seen.at(-1)!) seen.push(v);
          return seen.length;
        },
        { timeout: 30_000, interval: 50 },
      )
      .toBeGreaterThanOrEqual(3);
    expect(await detailStatus()).toBe('Running');
    expect(await page.textContent('#progress-label')).toMatch(/^\d+ of 36 finished$/);
    await expect
      .poll(() => page.textContent('#business-live'), { timeout: 10_000 })
      .toMatch(/^Business acme: [0-3] of 3 live calls, \d+ waiting\.$/);
    await page.screenshot({ path: `${SCREENSHOTS}running-run.png`, fullPage: true });

    // The start, then one read each of the run, its business and its jobs; nothing repeated.
    expect(apiRequests.filter((r) => r.startsWith('POST '))).toEqual(['POST /dashboard/api/runs']);
    expect(apiRequests.length).toBeLessThanOrEqual(5);
    expect(new Set(apiRequests).size).toBe(apiRequests.length);
  });

  it('pause: status paused, the calls in flight drain; resume: the bar moves again', async () => {
    expect(await page.isDisabled('#action-resume')).toBe(true);
    await page.click('#action-pause');
    await expect.poll(detailStatus, { timeout: 10_000 }).toBe('Paused');
    expect(await page.isDisabled('#action-pause')).toBe(true);
    expect(await page.isEnabled('#action-resume')).toBe(true);
    expect(await page.textContent('#runs-body tr.selected .badge')).toBe('Paused');
    await expect.poll(() => countOf('in_flight'), { timeout: 15_000 }).toBe(0);
    expect(await page.textContent('#run-live')).toBe('Live calls of this run: 0 of 3.');
    const held = await valueNow();
    expect(held).toBeLessThan(36);
    expect((await fx.queue.getRun(runId)).active).toBe(0);

    await page.click('#action-resume');
    await expect.poll(detailStatus, { timeout: 10_000 }).toBe('Running');
    await expect.poll(valueNow, { timeout: 20_000 }).toBeGreaterThan(held);

    // Stop asks first; Escape keeps the run going and gives the focus back to the button.
    await page.focus('#action-stop');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#stop-dialog[open]');
    expect(await focused()).toBe('stop-cancel');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#stop-dialog:not([open])', { state: 'attached' });
    expect(await focused()).toBe('action-stop');
    expect((await fx.queue.getRun(runId)).status).toBe('running');
  });

  it('stop with hang-up: status stopped, canceled counted apart from completed', async () => {
    // A failed call among the finished ones first, for the error code below.
    await expect.poll(() => countOf('failed'), { timeout: 20_000 }).toBeGreaterThan(0);
    await expect.poll(() => countOf('in_flight'), { timeout: 10_000 }).toBeGreaterThan(0);
    await page.click('#action-stop-hangup');
    await page.waitForSelector('#stop-dialog[open]');
    expect(await page.textContent('#stop-confirm')).toBe('Stop and hang up');
    await page.click('#stop-confirm');
    await expect.poll(detailStatus, { timeout: 15_000 }).toBe('Stopped');
    for (const id of ['#action-pause', '#action-resume', '#action-stop', '#action-stop-hangup'])
      expect(await page.isDisabled(id)).toBe(true);
    await expect.poll(() => countOf('in_flight'), { timeout: 15_000 }).toBe(0);
    const run = await fx.queue.waitForRun(runId, { timeoutMs: 15_000 });
    expect(run.status).toBe('stopped');
    // The hung-up calls and the queued jobs end canceled, which is not completed.
    await expect.poll(() => countOf('canceled'), { timeout: 10_000 }).toBe(run.counts.canceled);
    expect(run.counts.canceled).toBeGreaterThan(0);
    expect(await countOf('completed')).toBe(run.counts.completed);
    expect(await valueNow()).toBe(36);
    expect(await page.textContent('#progress-label')).toBe(
      `36 of 36 finished, ${run.counts.canceled} of them canceled`,
    );
    // The jobs table is read again once the hung-up calls ended, without a click.
    await expect
      .poll(
        async () => (await attributes('#jobs-body tr', 'data-status')).filter((s) => s === 'canceled').length,
        {
          timeout: 10_000,
        },
      )
      .toBe(run.counts.canceled);
    await page.screenshot({ path: `${SCREENSHOTS}stopped-run.png`, fullPage: true });
  });

  it('shows per-status counts, and a failed job with its error code', async () => {
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
      expect(await countOf(segment), segment).toBe(expected);
    }
    const labels = await page.locator('#counts .count-label').allTextContents();
    expect(labels).toEqual(['Completed', 'Busy', 'No answer', 'Failed', 'Canceled', 'In flight', 'Queued']);
    expect(run.counts.busy + run.counts.no_answer).toBeGreaterThan(0);

    await page.selectOption('#jobs-status', 'failed');
    await page.click('#jobs-filter button[type="submit"]');
    await expect
      .poll(() => attributes('#jobs-body tr', 'data-status'), {
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
    await page.screenshot({ path: `${SCREENSHOTS}failed-job.png`, fullPage: true });
  });

  it('tells each problem of the leads once, in the typed line numbers; Start is disabled meanwhile', async () => {
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
    expectedFailures = 1;
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
    expect(expectedFailures).toBe(0);
    await page.locator('#start-form').screenshot({ path: `${SCREENSHOTS}lead-problems.png` });
    expect(await page.isEnabled('#start-submit')).toBe(true);
    expect(posts).toBe(1);
    expect(await page.getAttribute('#start-leads', 'aria-invalid')).toBe('true');
    await page.unroute('**/dashboard/api/runs');

    // Fixed, the same form starts a second run: listed above the first, which stays.
    await page.fill('#start-leads', ['+14155550201,a', '+14155550299,b'].join('\n'));
    await page.click('#start-submit');
    await expect
      .poll(() => attributes('#runs-body tr', 'data-run-id'), {
        timeout: 15_000,
      })
      .toHaveLength(2);
    const rows = await attributes('#runs-body tr', 'data-run-id');
    expect(rows[1]).toBe(runId);
    expect(await page.getAttribute('#runs-body tr:first-child', 'class')).toBe('selected');
    expect(await page.isHidden('#start-errors')).toBe(true);
  });

  it('filters the runs by business and status, pages with Older runs, adds a new one from the event stream', async () => {
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
    const rowIds = () => attributes('#runs-body tr', 'data-run-id');

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
    await page.fill('#start-business', 'acme');
    await page.fill('#start-run-id', runId);
    await page.fill('#start-leads', '+14155550401');
    expectedFailures = 1;
    await page.click('#start-submit');
    await page.waitForSelector('#alert:not([hidden])', { timeout: 10_000 });
    expect(await page.getAttribute('#alert', 'role')).toBe('alert');
    expect(await page.textContent('#alert-text')).toBe(
      `Could not start the run: run ${runId} exists with a different input; use a new runId for a new run (IDEMPOTENCY_CONFLICT)`,
    );
    expect(expectedFailures).toBe(0);
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
    expectedFailures = 1;
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
    await page.goto('about:blank');
    await page.goto(`${base}#run=${encodeURIComponent(runId)}`);
    await expect.poll(() => page.textContent('#detail-heading'), { timeout: 10_000 }).toBe(`Run ${runId}`);
    expect(await detailStatus()).toBe('Stopped');
    // Older than the first page of all runs; listed, and marked, once the list shows acme's.
    await page.fill('#runs-business', 'acme');
    await page.click('#runs-filter button[type="submit"]');
    await page.waitForSelector(`#runs-body tr.selected[data-run-id="${runId}"]`, { timeout: 10_000 });
  });

  it('refuses requests that authorize turns down', async () => {
    const stranger = await browser.newContext();
    const anonymous = stranger.request;
    for (const path of ['', 'api/runs', 'assets/dashboard.js']) {
      const response = await anonymous.get(`${base}${path}`);
      expect(response.status(), path).toBe(403);
    }
    const wrong = await anonymous.post(`${base}api/runs/${runId}/resume`, {
      headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' },
      data: '{}',
    });
    expect(wrong.status()).toBe(403);
    await stranger.close();
  });
});
