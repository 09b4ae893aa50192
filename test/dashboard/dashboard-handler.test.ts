import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import apiModule from '../../src/dashboard/page/api.client.js';
import pageScript from '../../src/dashboard/page/dashboard.client.js';
import pageHtml from '../../src/dashboard/page/dashboard.html';
import { PAGE_STYLES } from '../../src/dashboard/page/page-styles.js';
import { createDashboardHandler } from '../../src/dashboard.js';
import { SimulatedDialer } from '../../src/dialer/simulated-dialer.js';
import { ValidationError } from '../../src/errors.js';
import { type QueueFixture, startQueue } from '../support/queue-fixture.js';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const PAGE_DIR = fileURLToPath(new URL('../../src/dashboard/page/', import.meta.url));

let fx: QueueFixture;
beforeAll(async () => {
  fx = await startQueue(new SimulatedDialer({ durationMs: 5 }));
});
afterAll(async () => fx.close());

describe('createDashboardHandler options', () => {
  it('requires authorize and a queue, naming each bad option', () => {
    const queue = fx.queue;
    const issues = (options: unknown) => {
      try {
        createDashboardHandler(options as never);
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as ValidationError).issues.map((issue) => issue.field);
      }
      throw new Error('no ValidationError');
    };
    expect(issues({ queue })).toEqual(['authorize']);
    expect(issues({ queue, authorize: true })).toEqual(['authorize']);
    expect(issues({ authorize: () => true })).toEqual(['queue']);
    expect(issues(undefined)).toEqual(['queue', 'authorize']);
    expect(
      issues({ queue, authorize: () => true, refreshMs: 10, pingMs: Number.NaN, title: 3, publicUrl: 'ops' }),
    ).toEqual(['title', 'refreshMs', 'pingMs', 'publicUrl']);
    for (const basePath of ['/a b', '/a?b', '/a#b', '/a/../b', '/./a', '//a//b', 3, null]) {
      expect(issues({ queue, authorize: () => true, basePath }), String(basePath)).toEqual(['basePath']);
    }
  });

  it('normalises basePath: one leading slash, no trailing one', async () => {
    for (const basePath of ['ops', '/ops', 'ops/', '/ops/', '//ops//']) {
      const handler = createDashboardHandler({ queue: fx.queue, basePath, authorize: () => true });
      expect((await handler(new Request('http://h/ops/api/runs'))).status, basePath).toBe(200);
      expect((await handler(new Request('http://h/api/runs'))).status, basePath).toBe(404);
    }
    for (const basePath of ['', '/', '///']) {
      const handler = createDashboardHandler({ queue: fx.queue, basePath, authorize: () => true });
      expect((await handler(new Request('http://h/api/runs'))).status, basePath).toBe(200);
      expect((await handler(new Request('http://h/'))).status, basePath).toBe(200);
    }
    const nested = createDashboardHandler({
      queue: fx.queue,
      basePath: '/admin/calls',
      authorize: () => true,
    });
    expect((await nested(new Request('http://h/admin/calls/api/runs'))).status).toBe(200);
  });
});

describe('the page and its assets', () => {
  const handler = () =>
    createDashboardHandler({
      queue: fx.queue,
      basePath: '/ops',
      authorize: () => true,
      title: 'Calls <&> "A"',
    });

  it('serves the page at <basePath>/ with its security headers, and redirects <basePath> there', async () => {
    const page = await handler()(new Request('http://h/ops/'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(CSP);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('same-origin');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).toBe(pageHtml.replaceAll('{{title}}', 'Calls &lt;&amp;&gt; &quot;A&quot;'));
    expect(html).not.toContain('{{title}}');

    const redirect = await handler()(new Request('http://h/ops?tab=runs'));
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/ops/?tab=runs');
  });

  it('writes a title with $ patterns in it as text', async () => {
    const title = "Ops $' desk $& $` $$ $1";
    const titled = createDashboardHandler({ queue: fx.queue, authorize: () => true, title });
    const html = await (await titled(new Request('http://h/'))).text();
    const escaped = 'Ops $&#39; desk $&amp; $` $$ $1';
    expect(html).toBe(pageHtml.split('{{title}}').join(escaped));
    expect(html).toContain(`<title>${escaped}</title>`);
  });

  it('serves the script and the styles with their types', async () => {
    const script = await handler()(new Request('http://h/ops/assets/dashboard.js'));
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await script.text()).toBe(pageScript);
    const styles = await handler()(new Request('http://h/ops/assets/dashboard.css'));
    expect(styles.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await styles.text()).toBe(PAGE_STYLES);
    expect((await handler()(new Request('http://h/ops/assets/other.js'))).status).toBe(404);
    const head = await handler()(new Request('http://h/ops/assets/dashboard.js', { method: 'POST' }));
    expect(head.status).toBe(405);
  });

  it('serves every module the script imports at assets/<name>.js, each client file as written', async () => {
    const serve = handler();
    const served = new Map<string, string>();
    const pending = ['dashboard.js'];
    for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
      if (served.has(name)) continue;
      const res = await serve(new Request(`http://h/ops/assets/${name}`));
      expect(res.status, name).toBe(200);
      expect(res.headers.get('content-type'), name).toBe('text/javascript; charset=utf-8');
      expect(res.headers.get('x-content-type-options'), name).toBe('nosniff');
      expect(res.headers.get('cache-control'), name).toBe('no-store');
      const text = await res.text();
      served.set(name, text);
      for (const [, specifier] of text.matchAll(/^import\s[^;]*?from '([^']+)';/gm)) {
        expect(specifier, `${name} imports ${specifier}`).toMatch(/^\.\/[a-z-]+\.js$/);
        pending.push(specifier!.slice(2));
      }
    }
    expect(served.get('api.js')).toBe(apiModule);
    // No client file is left out of the table, none is unreachable from the page's script.
    const files = readdirSync(PAGE_DIR).filter((file) => file.endsWith('.client.js'));
    expect([...served.keys()].sort()).toEqual(
      files.map((file) => file.replace(/\.client\.js$/, '.js')).sort(),
    );
    for (const file of files) {
      expect(served.get(file.replace(/\.client\.js$/, '.js')), file).toBe(
        readFileSync(`${PAGE_DIR}${file}`, 'utf8'),
      );
    }
    for (const unknown of ['nope.js', 'api.client.js', 'api', 'constructor', 'api.js/more']) {
      expect((await serve(new Request(`http://h/ops/assets/${unknown}`))).status, unknown).toBe(404);
    }
    expect((await serve(new Request('http://h/ops/assets/api.js', { method: 'POST' }))).status).toBe(405);
  });

  it('answers a path that is not percent-encoded UTF-8 with 400', async () => {
    const res = await handler()(new Request('http://h/ops/api/runs/%E0%A4%A'));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('BAD_REQUEST');
  });

  it('decodes ids in the path', async () => {
    await fx.queue.startRun({
      runId: 'run/with space',
      businessId: 'b',
      concurrency: 1,
      leads: [{ to: '+14155550199' }],
    });
    const res = await handler()(new Request(`http://h/ops/api/runs/${encodeURIComponent('run/with space')}`));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { runId: string }).runId).toBe('run/with space');
  });
});
