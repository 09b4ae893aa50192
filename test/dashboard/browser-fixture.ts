import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type Browser, type ConsoleMessage, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { createDashboardHandler, toNodeHandler } from '../../src/dashboard.js';
import type { DialContext, Dialer, DialRequest, DialResult } from '../../src/dialer/dialer.js';
import type { CallStatus } from '../../src/types.js';
import { requireChromium } from '../support/chromium.js';
import { type QueueFixture, startQueue } from '../support/queue-fixture.js';

/**
 * What the dashboard's browser suites share: a queue with {@link ScriptedDialer}, the dashboard
 * served on a free port, one Chromium page on it, the page's console errors (each test must end
 * without any), and helpers that read the page. Each suite (`dashboard-*.browser.test.ts`) is one
 * flow, with a browser of its own.
 */

/** The Chromium to drive, or undefined when the suites must be skipped (see `requireChromium`). */
export const executablePath = requireChromium();

const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));
const TOKEN = 'Bearer t';

/** The error code a lead whose number ends in 9 fails with (Twilio's "connection error"). */
export const FAILED_CODE = '31005';

/**
 * Calls whose outcome the number tells (ending 3: no answer, 7: busy, 9: failed with
 * {@link FAILED_CODE}, else completed), 700 to 1,150 ms long so a page can watch them, and that
 * end `canceled` when hung up.
 */
export class ScriptedDialer implements Dialer {
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
export function pastedLeads(n: number): string {
  const lines = ['to,leadId'];
  for (let i = 0; i < n; i++) lines.push(`+1415555${String(100 + i).padStart(4, '0')},lead-${i}`);
  return lines.join('\n');
}

/** A dashboard page in Chromium over a started queue, set up by {@link useDashboardPage}. */
export class DashboardPage {
  /** The queue the page shows. */
  fx!: QueueFixture;
  browser!: Browser;
  page!: Page;
  /** The dashboard's URL, `http://127.0.0.1:<port>/dashboard/`. */
  base = '';
  /** API requests (the event stream left out) the page made, for the no-polling check. */
  apiRequests: string[] = [];
  /** Responses with an error status that the current test expects the browser to log. */
  expectedFailures = 0;

  // Arrow functions: handed to expect.poll as they are.
  /** The progress bar's `aria-valuenow`. */
  valueNow = async (): Promise<number> => Number(await this.page.getAttribute('#progress', 'aria-valuenow'));
  /** The number shown in the count of `segment` (`completed`, `in_flight`, ...). */
  countOf = async (segment: string): Promise<number> =>
    Number(
      (await this.page.textContent(`#counts [data-segment="${segment}"] .count-value`))?.replace(/\D/g, ''),
    );
  /** The selected run's status as shown (`Running`, `Paused`, `Stopped`, ...). */
  detailStatus = (): Promise<string | null> => this.page.textContent('#detail-status');
  /** The id of the focused element. */
  focused = (): Promise<unknown> => this.page.evaluate('document.activeElement && document.activeElement.id');
  /** Attribute `name` of every element `selector` matches, in order. */
  attributes = (selector: string, name: string): Promise<(string | null)[]> =>
    this.page.$$eval(selector, (rows, attribute) => rows.map((row) => row.getAttribute(attribute)), name);

  /** Fills the start form (business, concurrency, pasted leads); does not submit it. */
  async fillStart(business: string, concurrency: number, leads: string): Promise<void> {
    await this.page.fill('#start-business', business);
    await this.page.fill('#start-concurrency', String(concurrency));
    await this.page.fill('#start-leads', leads);
  }

  /** Where a screenshot named `name` goes: `test-results/screenshots/<name>`. */
  screenshotPath(name: string): string {
    return `${SCREENSHOTS}${name}`;
  }
}

/**
 * Registers the hooks of one browser suite (call it inside its `describe`): before all, a queue,
 * the dashboard behind a bearer token, Chromium with a page that sends it, not yet navigated;
 * after each test, the console errors and warnings and page errors it collected must be none;
 * after all, everything closed.
 * @returns the fixture, whose fields are set once `beforeAll` ran
 */
export function useDashboardPage(): DashboardPage {
  let server: Server | undefined;
  /** Console errors and warnings and page errors of the current test. */
  let problems: string[] = [];
  const ui = new DashboardPage();

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    ui.fx = await startQueue(new ScriptedDialer());
    const handler = createDashboardHandler({
      queue: ui.fx.queue,
      basePath: '/dashboard',
      authorize: (request) => request.headers.get('authorization') === TOKEN,
    });
    server = createServer(toNodeHandler(handler));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    ui.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dashboard/`;
    ui.browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    const context = await ui.browser.newContext({
      extraHTTPHeaders: { authorization: TOKEN },
      viewport: { width: 1400, height: 1100 },
    });
    const page = await context.newPage();
    ui.page = page;
    const note = (what: string) => problems.push(what);
    page.on('console', (msg: ConsoleMessage) => {
      if (msg.type() !== 'error' && msg.type() !== 'warning') return;
      // A 4xx answer the test provoked is logged by the browser itself, not by the page.
      if (ui.expectedFailures > 0 && msg.text().startsWith('Failed to load resource')) {
        ui.expectedFailures--;
        return;
      }
      note(`console.${msg.type()}: ${msg.text()} (${msg.location().url})`);
    });
    page.on('pageerror', (err) => note(`pageerror: ${err.message}`));
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/dashboard/api/') && url.pathname !== '/dashboard/api/events')
        ui.apiRequests.push(`${request.method()} ${url.pathname}${url.search}`);
    });
  });

  afterEach(() => {
    const seen = problems;
    problems = [];
    ui.expectedFailures = 0;
    expect(seen).toEqual([]);
  });

  afterAll(async () => {
    await ui.browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await ui.fx?.close();
  });

  return ui;
}

/**
 * Opens the dashboard and waits for its event stream to be live: the start of a suite that does
 * not test the loading itself.
 * @param ui - the suite's fixture
 */
export async function openDashboard(ui: DashboardPage): Promise<void> {
  const response = await ui.page.goto(ui.base);
  expect(response?.status()).toBe(200);
  await ui.page.waitForSelector('#connection[data-state="live"]', { timeout: 15_000 });
}
