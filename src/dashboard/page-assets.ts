import { dashboardResponse, PAGE_CSP } from './http-responses.js';
import apiModule from './page/api.client.js';
import dashboardModule from './page/dashboard.client.js';
import pageHtml from './page/dashboard.html';
import domModule from './page/dom.client.js';
import formatModule from './page/format.client.js';
import jobsTableModule from './page/jobs-table.client.js';
import liveEventsModule from './page/live-events.client.js';
import messagesModule from './page/messages.client.js';
import { PAGE_STYLES } from './page/page-styles.js';
import runDetailModule from './page/run-detail.client.js';
import runSegmentsModule from './page/run-segments.client.js';
import runStoreModule from './page/run-store.client.js';
import runsListModule from './page/runs-list.client.js';
import startFormModule from './page/start-form.client.js';

/**
 * The page's script modules by the name they are served and imported under
 * (`page/<name>.client.js` at `assets/<name>.js`); `dashboard.js` is the one the page loads.
 */
const SCRIPT_MODULES: ReadonlyMap<string, string> = new Map([
  ['dashboard.js', dashboardModule],
  ['api.js', apiModule],
  ['dom.js', domModule],
  ['format.js', formatModule],
  ['jobs-table.js', jobsTableModule],
  ['live-events.js', liveEventsModule],
  ['messages.js', messagesModule],
  ['run-detail.js', runDetailModule],
  ['run-segments.js', runSegmentsModule],
  ['run-store.js', runStoreModule],
  ['runs-list.js', runsListModule],
  ['start-form.js', startFormModule],
]);

/** The page, its script modules and its styles, as the dashboard serves them. */
export interface PageAssets {
  /** `GET /`: the page, titled. */
  page(): Response;
  /** `GET /assets/<module>.js`: the answer for each script module, by file name (`api.js`). */
  scripts: ReadonlyMap<string, () => Response>;
  /** `GET /assets/dashboard.css`. */
  styles(): Response;
}

/**
 * The page's files, the title written into the page once.
 * @param title - the page's title (HTML-escaped here)
 * @returns the answers
 */
export function pageAssets(title: string): PageAssets {
  const escaped = escapeHtml(title);
  // A function, not a string: `$&`, `$'` and the like in the title are text, not patterns.
  const html = pageHtml.replaceAll('{{title}}', () => escaped);
  return {
    page: () =>
      dashboardResponse(html, 200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': PAGE_CSP,
      }),
    scripts: new Map(
      [...SCRIPT_MODULES].map(([name, source]) => [
        name,
        () => dashboardResponse(source, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
      ]),
    ),
    styles: () => dashboardResponse(PAGE_STYLES, 200, { 'content-type': 'text/css; charset=utf-8' }),
  };
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}
