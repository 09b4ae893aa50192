/**
 * The dashboard page's stylesheet, served at `assets/dashboard.css` (the page's CSP allows
 * `style-src 'self'` only: no inline styles). Every colour pair meets WCAG AA: text 4.5:1 or
 * more, the bar's segments and focus rings 3:1 or more against their background; a status is
 * never told by colour alone (each has its text label, canceled also a hatch).
 */
export const PAGE_STYLES = `
:root {
  color-scheme: light;
  --text: #1f2328;
  --muted: #59636e;
  --bg: #f6f8fa;
  --panel: #ffffff;
  --border: #d1d9e0;
  --focus: #0550ae;
  --link: #0550ae;
  --danger: #a40e26;
  --seg-completed: #1a7f37;
  --seg-busy: #9a6700;
  --seg-no-answer: #8250df;
  --seg-failed: #cf222e;
  --seg-canceled: #57606a;
  --seg-canceled-hatch: #8c959f;
  --seg-in-flight: #0969da;
  --seg-queued: #d1d9e0;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 16px;
  line-height: 1.45;
  color: var(--text);
  background: var(--bg);
}

* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; }
code, .run-id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }

.visually-hidden {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}

.skip-link { position: absolute; left: 0.5rem; top: -3rem; background: var(--panel); padding: 0.5rem 0.75rem; z-index: 10; }
.skip-link:focus { top: 0.5rem; }

:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
main:focus, h2:focus, h3:focus, .form-errors:focus { outline: none; }
h2:focus-visible, h3:focus-visible, .form-errors:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }

.site-header {
  display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 0.5rem 1rem;
  padding: 0.75rem 1.25rem; background: #1f2328; color: #ffffff;
}
.site-header h1 { margin: 0; font-size: 1.25rem; }
.connection { display: flex; align-items: center; gap: 0.5rem; }
.connection p { margin: 0; display: flex; align-items: center; gap: 0.4rem; }
.connection-dot { width: 0.7rem; height: 0.7rem; border-radius: 50%; background: #8c959f; border: 2px solid #ffffff; }
[data-state="live"] .connection-dot { background: #2da44e; }
[data-state="reconnecting"] .connection-dot { background: #d4a72c; }
[data-state="closed"] .connection-dot { background: #ff8182; }

main { padding: 1rem 1.25rem 2rem; max-width: 1400px; margin: 0 auto; }
.layout { display: grid; grid-template-columns: minmax(320px, 2fr) minmax(360px, 3fr); gap: 1rem; align-items: start; }
@media (max-width: 900px) { .layout { grid-template-columns: 1fr; } }
.column { display: grid; gap: 1rem; min-width: 0; }

.panel { background: var(--panel); border: 1px solid var(--border); border-radius: 6px; padding: 1rem; min-width: 0; }
.panel h2 { margin: 0 0 0.75rem; font-size: 1.15rem; overflow-wrap: anywhere; }
.subpanel { margin-top: 1.25rem; border-top: 1px solid var(--border); padding-top: 0.75rem; }
.subpanel h3 { margin: 0 0 0.5rem; font-size: 1rem; overflow-wrap: anywhere; }

.alert {
  display: flex; align-items: flex-start; justify-content: space-between; gap: 1rem;
  border: 2px solid var(--danger); background: #ffebe9; color: #6e011a;
  padding: 0.6rem 0.9rem; border-radius: 6px; margin-bottom: 0.75rem;
}
.alert p { margin: 0; }
.status-line { min-height: 1.45em; margin: 0 0 0.75rem; color: var(--text); }

.field { display: flex; flex-direction: column; gap: 0.2rem; margin-bottom: 0.75rem; flex: 1 1 12rem; min-width: 0; }
.field.narrow { flex: 0 1 9rem; }
.field-row { display: flex; flex-wrap: wrap; gap: 0 0.75rem; }
label { font-weight: 600; }
.optional, .hint { font-weight: 400; color: var(--muted); font-size: 0.875rem; }
input, select, textarea, button { font: inherit; color: inherit; }
input:not([type="file"]), select, textarea {
  border: 1px solid #6e7781; border-radius: 4px; padding: 0.35rem 0.5rem; background: #ffffff; width: 100%;
}
textarea { resize: vertical; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9rem; }
[aria-invalid="true"] { border-color: var(--danger); border-width: 2px; }

button {
  border: 1px solid #6e7781; border-radius: 4px; background: #f6f8fa; color: var(--text);
  padding: 0.35rem 0.8rem; cursor: pointer;
}
button:hover:not(:disabled) { background: #eaeef2; }
button:disabled { cursor: not-allowed; color: #6e7781; background: #f6f8fa; border-color: #d1d9e0; }
button.primary { background: #1a7f37; border-color: #116329; color: #ffffff; font-weight: 600; }
button.primary:hover:not(:disabled) { background: #116329; }
button.primary:disabled { background: #94d3a2; border-color: #94d3a2; color: #1f2328; }
button.danger { color: var(--danger); border-color: var(--danger); }
button.danger:disabled { color: #6e7781; border-color: #d1d9e0; }
button.small { padding: 0.1rem 0.5rem; font-size: 0.875rem; }
.site-header button { background: #ffffff; color: #1f2328; }
button.link {
  border: 0; background: none; padding: 0; color: var(--link); text-decoration: underline; text-align: left;
  overflow-wrap: anywhere;
}
button.link.run-id {
  display: inline-block; max-width: 11ch; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  overflow-wrap: normal; vertical-align: bottom;
}
button.link:hover:not(:disabled) { background: none; color: #033d8b; }

.actions { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; margin-top: 0.5rem; }
fieldset.controls { border: 0; padding: 0; margin: 0.5rem 0 0; min-width: 0; }
.filter { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 0 0.75rem; }
.filter button { margin-bottom: 0.75rem; }
.filter .hint { margin-bottom: 1rem; }

.form-errors { border-left: 4px solid var(--danger); background: #ffebe9; color: #6e011a; padding: 0.5rem 0.75rem; margin: 0.25rem 0 0.75rem; }
.form-errors-title { margin: 0 0 0.25rem; font-weight: 600; }
.form-errors ul { margin: 0; padding-left: 1.25rem; }

.table-wrap { overflow-x: auto; }
table.data { border-collapse: collapse; width: 100%; font-size: 0.925rem; }
table.data caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
table.data th, table.data td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--border); vertical-align: top; }
table.data thead th { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.02em; color: var(--muted); }
table.data tbody th { font-weight: 400; }
#runs-table { font-size: 0.875rem; }
#runs-table th, #runs-table td { padding: 0.35rem 0.35rem; }
table.data td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.selected { background: #ddf4ff; box-shadow: inset 4px 0 0 var(--focus); }
.progress-cell { min-width: 6rem; }
.mini-bar {
  display: inline-flex; width: 3.5rem; height: 0.7rem; vertical-align: middle; margin-right: 0.4rem;
  border: 1px solid #6e7781; border-radius: 2px; overflow: hidden; background: #ffffff;
}
.progress-text { font-variant-numeric: tabular-nums; }
.empty { color: var(--muted); margin: 0.5rem 0; }

.badge {
  display: inline-block; padding: 0 0.45rem; border-radius: 999px; font-size: 0.85rem; font-weight: 600;
  border: 1px solid transparent; white-space: nowrap; background: #eaeef2; color: #424a53;
}
.badge[data-status="completed"] { background: #dafbe1; color: #116329; border-color: #4ac26b; }
.badge[data-status="busy"], .badge[data-status="paused"] { background: #fff8c5; color: #7d4e00; border-color: #d4a72c; }
.badge[data-status="no_answer"] { background: #fbefff; color: #6639ba; border-color: #c297ff; }
.badge[data-status="failed"] { background: #ffebe9; color: #a40e26; border-color: #ff8182; }
.badge[data-status="canceled"], .badge[data-status="stopped"] { background: #f6f8fa; color: #424a53; border: 1px dashed #6e7781; }
.badge[data-status="running"], .badge[data-status="dialing"], .badge[data-status="ringing"], .badge[data-status="in_progress"] {
  background: #ddf4ff; color: #0550ae; border-color: #54aeff;
}
.badge[data-status="queued"] { background: #ffffff; color: #424a53; border-color: #afb8c1; }

.facts { display: flex; flex-wrap: wrap; gap: 0.25rem 1.5rem; margin: 0 0 0.75rem; }
.facts div { display: flex; gap: 0.4rem; align-items: baseline; }
.facts dt { color: var(--muted); font-size: 0.875rem; }
.facts dd { margin: 0; overflow-wrap: anywhere; }

.progress-label { margin: 0 0 0.3rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.progress-bar {
  display: flex; height: 1.5rem; border: 1px solid #6e7781; border-radius: 4px; overflow: hidden; background: #ffffff;
}
.segment { display: block; height: 100%; width: 0; flex: 0 0 auto; }
.segment + .segment { box-shadow: inset 1px 0 0 #ffffff; }
.seg-completed { background: var(--seg-completed); }
.seg-busy { background: var(--seg-busy); }
.seg-no_answer { background: var(--seg-no-answer); }
.seg-failed { background: var(--seg-failed); }
.seg-canceled {
  background: repeating-linear-gradient(135deg, var(--seg-canceled) 0 4px, var(--seg-canceled-hatch) 4px 8px);
}
.seg-in_flight { background: var(--seg-in-flight); }
.seg-queued { background: var(--seg-queued); }

.counts { list-style: none; margin: 0.6rem 0 0.25rem; padding: 0; display: flex; flex-wrap: wrap; gap: 0.35rem 1.1rem; }
.counts li { display: flex; align-items: center; gap: 0.35rem; font-variant-numeric: tabular-nums; }
.counts li.zero { color: var(--muted); }
.swatch { width: 0.9rem; height: 0.9rem; border-radius: 2px; border: 1px solid #424a53; display: inline-block; }
.count-extra { color: var(--muted); font-size: 0.875rem; }
.live-calls { margin: 0.5rem 0; }

dialog { border: 1px solid #6e7781; border-radius: 6px; padding: 1.25rem; max-width: 32rem; color: var(--text); }
dialog::backdrop { background: rgba(31, 35, 40, 0.5); }
dialog h2 { margin-top: 0; font-size: 1.15rem; }
`;
