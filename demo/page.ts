/**
 * The demo's HTML: one server-rendered page (no build step) and a little
 * inline script for the concurrency race and refreshing the admin panel.
 */
import type { StoreStats } from '../src/core/stats.js';
import type { LiveSession } from './live-sessions.js';
import type { WorkerStats } from './cluster-stats.js';
import { sumMetrics } from './otel-metrics.js';

export interface AdminView {
  table: string;
  currentId: string | undefined;
  sessions: LiveSession[];
  more: boolean;
  workers: WorkerStats[];
  total: StoreStats;
}

export interface PageView {
  pid: number;
  workerId: number;
  workerCount: number;
  backend: string;
  sessionId: string;
  visits: number;
  cart: string[];
  user: string | undefined;
  products: readonly string[];
  admin: AdminView;
}

const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export const shortId = (id: string): string => (id.length > 10 ? `${id.slice(0, 8)}…` : id);

/** One hue per worker, so a reload that lands elsewhere is seen at a glance. */
const hue = (workerId: number): number => (workerId * 137) % 360;

function inSeconds(epochSeconds: number): string {
  const s = epochSeconds - Math.floor(Date.now() / 1000);
  if (s <= 0) return 'expired';
  if (s < 120) return `in ${s} s`;
  return `in ${Math.round(s / 60)} min`;
}

export function renderAdmin(a: AdminView): string {
  const rows = a.sessions
    .map(
      (s) => `<tr${s.id === a.currentId ? ' class="mine"' : ''}>
        <td><code>${esc(shortId(s.id))}</code>${s.id === a.currentId ? ' <small>(you)</small>' : ''}</td>
        <td>${s.userId !== undefined ? esc(s.userId) : '<span class="muted">—</span>'}</td>
        <td class="num">${s.bytes} B</td>
        <td class="num">${s.version}</td>
        <td>${esc(inSeconds(s.expiresAt))}</td>
        <td class="num">${s.visits ?? ''}</td>
        <td class="num">${s.cartItems ?? ''}</td>
        <td>${s.locked ? 'leased' : ''}</td>
      </tr>`,
    )
    .join('');
  const t = a.total;
  const calls = Object.entries(t.calls)
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([op, n]) => `<li><span>${esc(op)}</span><b>${n}</b></li>`)
    .join('');
  const otel = sumMetrics(a.workers.map((w) => w.metrics ?? []))
    .map((m) => {
      const shown = m.sum === undefined ? String(m.value) : `${m.value} × mean ${m.unit === 's' ? `${((m.sum / Math.max(1, m.value)) * 1000).toFixed(1)} ms` : `${Math.round(m.sum / Math.max(1, m.value))} ${esc(m.unit)}`}`;
      return `<li><span><code>${esc(m.name)}</code></span><b data-metric="${esc(m.name)}">${shown}</b></li>`;
    })
    .join('');
  const perWorker = a.workers
    .map((w) => `<li><span>pid ${w.pid}</span><b>${Object.values(w.stats.calls).reduce((x, y) => x + y, 0)} calls</b></li>`)
    .join('');
  return `
    <h2>Admin: live sessions in <code>${esc(a.table)}</code></h2>
    <div class="table-scroll">
    <table class="sessions" data-testid="sessions">
      <thead><tr><th>session</th><th>user</th><th>item size</th><th>version</th><th>expires</th><th>visits</th><th>cart</th><th>lock</th></tr></thead>
      <tbody>${rows || '<tr><td colspan="8" class="muted">no live session</td></tr>'}</tbody>
    </table>
    </div>
    ${a.more ? '<p class="muted">More sessions exist: the panel reads one Scan page only, since a Scan costs read capacity for everything it reads.</p>' : ''}
    <h3>Store statistics, all ${a.workers.length} workers together</h3>
    <div class="stats" data-testid="stats">
      <ul class="kv"><li><span>DynamoDB calls</span><b data-testid="total-calls">${Object.values(t.calls).reduce((x, y) => x + y, 0)}</b></li>${calls}</ul>
      <ul class="kv">
        <li><span>read capacity units</span><b>${t.readCapacityUnits.toFixed(1)}</b></li>
        <li><span>write capacity units</span><b>${t.writeCapacityUnits.toFixed(1)}</b></li>
        <li><span>writes skipped (unchanged)</span><b>${t.writesSkipped}</b></li>
        <li><span>version conflicts → merges</span><b>${t.versionConflicts} → ${t.merges}</b></li>
        <li><span>true conflicts: one value changed by two requests at once</span><b data-testid="conflicts">${t.conflicts}</b></li>
        <li><span>lock waits (total ms)</span><b>${t.lockWaits} (${t.lockWaitMs})</b></li>
        <li><span>lock time-outs</span><b>${t.lockTimeouts}</b></li>
      </ul>
      <ul class="kv">${perWorker}</ul>
    </div>
    <h3>OpenTelemetry metrics, read from each worker's metric reader</h3>
    <div class="stats"><ul class="kv" data-testid="otel-metrics">${otel || '<li class="muted">none recorded yet</li>'}</ul></div>
    ${
      t.conflicts > 0
        ? `<p class="muted" data-testid="conflicts-note">Each true conflict was settled by the demo's <code>onConflict</code>, which adds up both requests' increments: none was lost. (Without one, the later write wins and the other change is lost; <code>stats().conflicts</code> counts them so that you can tell.)</p>`
        : ''
    }`;
}

export function renderPage(v: PageView): string {
  const cart = v.cart
    .map(
      (item, i) => `<li><span data-testid="cart-item">${esc(item)}</span>
        <form method="post" action="/cart/remove"><input type="hidden" name="index" value="${i}"><input type="hidden" name="item" value="${esc(item)}"><button class="link" aria-label="remove ${esc(item)}">remove</button></form></li>`,
    )
    .join('');
  const options = v.products.map((p) => `<option>${esc(p)}</option>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>dynamodb-session-manager demo</title>
<style>
  :root { --w: hsl(${hue(v.workerId)} 70% 42%); font-family: system-ui, sans-serif; color: #1d2330; background: #f4f6fa; }
  body { margin: 0 auto; max-width: 1080px; padding: 24px; }
  header { display: flex; align-items: center; justify-content: space-between; gap: 16px; flex-wrap: wrap; }
  h1 { font-size: 22px; margin: 0; } h2 { font-size: 17px; margin: 0 0 12px; } h3 { font-size: 15px; margin: 18px 0 8px; }
  .badge { background: var(--w); color: #fff; border-radius: 10px; padding: 10px 16px; font-size: 18px; }
  .muted { color: #6b7280; } small { color: #6b7280; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 16px; margin-top: 16px; }
  section { background: #fff; border-radius: 12px; padding: 16px 18px; box-shadow: 0 1px 3px #0002; }
  .big { font-size: 40px; font-weight: 700; margin: 4px 0; }
  ul.cart { list-style: none; padding: 0; margin: 0 0 12px; } ul.cart li { display: flex; justify-content: space-between; padding: 4px 0; border-bottom: 1px solid #eef0f4; }
  form { display: inline; } button, select, input[type=text] { font: inherit; padding: 6px 10px; border-radius: 8px; border: 1px solid #c9ced8; background: #fff; }
  button { cursor: pointer; background: #2f5bd3; border-color: #2f5bd3; color: #fff; } button.link { background: none; border: none; color: #b42318; padding: 0 4px; }
  select { max-width: 100%; }
  table { width: 100%; border-collapse: collapse; font-size: 14px; } th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #eef0f4; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; } tr.mine { background: #eef4ff; }
  .stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 12px; }
  ul.kv { list-style: none; margin: 0; padding: 0; font-size: 14px; } ul.kv li { display: flex; justify-content: space-between; padding: 3px 0; border-bottom: 1px dotted #dde1e8; }
  .result { margin-top: 12px; font-size: 15px; } .result b { font-size: 22px; } .lost { color: #b42318; } .kept { color: #067647; }
  .wide { grid-column: 1 / -1; } #race-history { margin-top: 10px; }
  /* The sessions table has eight columns: on a narrow screen it scrolls inside its card rather than run past it. */
  .table-scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; } .table-scroll th, .table-scroll td { white-space: nowrap; }
  code { overflow-wrap: anywhere; }
  @media (max-width: 480px) {
    body { padding: 12px; } section { padding: 12px; } .grid { grid-template-columns: minmax(0, 1fr); }
    table { font-size: 13px; } th, td { padding: 4px 5px; } .badge { font-size: 15px; padding: 8px 12px; }
  }
</style>
</head>
<body>
<header>
  <div>
    <h1>dynamodb-session-manager</h1>
    <div class="muted">One session, ${v.workerCount} Node.js processes, no sticky sessions. Sessions in <span data-testid="backend">${esc(v.backend)}</span>.</div>
  </div>
  <div class="badge">served by worker ${v.workerId} · pid <b data-testid="pid">${v.pid}</b></div>
</header>
<div class="grid">
  <section>
    <h2>This session</h2>
    <div>visits <span class="big" data-testid="visits">${v.visits}</span></div>
    <div>id <code data-testid="session-id">${esc(shortId(v.sessionId))}</code></div>
    <div>user <b data-testid="user">${v.user !== undefined ? esc(v.user) : 'anonymous'}</b></div>
    <p class="muted">Every response closes its connection, so each reload may reach another worker: the counter still counts on, as the session lives in DynamoDB.</p>
    ${
      v.user === undefined
        ? `<form method="post" action="/login"><input type="text" name="user" value="ada" aria-label="user name" size="10"> <button data-testid="login">Log in</button></form>
           <p class="muted">Logging in gives the session a new id (no session fixation) and keeps the cart.</p>`
        : `<form method="post" action="/logout"><button data-testid="logout">Log out</button></form>
           <p class="muted">Logging out deletes the item: no worker can bring it back.</p>`
    }
  </section>
  <section>
    <h2>Cart</h2>
    <ul class="cart" data-testid="cart">${cart || '<li class="muted">empty</li>'}</ul>
    <form method="post" action="/cart/add"><select name="item" aria-label="product">${options}</select> <button data-testid="add">Add to cart</button></form>
  </section>
  <section>
    <h2>50 concurrent increments</h2>
    <p class="muted">Fifty AJAX calls at once, each reading a counter from the session, waiting a moment, and writing it back plus one.</p>
    <select id="race-mode" aria-label="locking mode">
      <option value="default">default options (a POST takes the lease)</option>
      <option value="none">none (last writer wins, the Tomcat manager's race)</option>
      <option value="optimistic">optimistic (merge, onConflict adding the counts)</option>
    </select>
    <button id="race" data-testid="race">Fire 50</button>
    <div class="result" id="race-result" data-state="idle" aria-live="polite"></div>
    <table id="race-history" hidden><thead><tr><th>mode</th><th class="num">expected</th><th class="num">stored</th><th class="num">lost</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="wide" id="admin">${renderAdmin(v.admin)}</section>
</div>
<script>
  const result = document.getElementById('race-result');
  document.getElementById('race').addEventListener('click', async (event) => {
    const button = event.currentTarget;
    const mode = document.getElementById('race-mode').value;
    button.disabled = true;
    result.dataset.state = 'running';
    result.textContent = 'running…';
    try {
      const reset = await fetch('/api/race/reset', { method: 'POST' });
      if (!reset.ok) throw new Error('reset answered ' + reset.status);
      const answers = await Promise.all(Array.from({ length: 50 }, () => fetch('/api/race/' + mode + '/incr', { method: 'POST' }).then((r) => r.ok, () => false)));
      const expected = answers.filter(Boolean).length;
      const stored = (await (await fetch('/api/session')).json()).race;
      const lost = expected - stored;
      result.innerHTML = '<div>mode <b data-testid="race-mode">' + mode + '</b></div>'
        + '<div>expected <b data-testid="race-expected">' + expected + '</b> · stored <b data-testid="race-stored">' + stored + '</b></div>'
        + (lost > 0 ? '<div class="lost">' + lost + ' increments lost to the race</div>' : '<div class="kept">no increment lost</div>')
        + (expected < 50 ? '<div class="lost">' + (50 - expected) + ' requests failed</div>' : '');
      const history = document.getElementById('race-history');
      const row = history.querySelector('tr[data-mode="' + mode + '"]') || history.tBodies[0].appendChild(document.createElement('tr'));
      row.dataset.mode = mode;
      row.innerHTML = '<td>' + mode + '</td><td class="num">' + expected + '</td><td class="num">' + stored + '</td><td class="num ' + (lost > 0 ? 'lost' : 'kept') + '">' + lost + '</td>';
      history.hidden = false;
      const admin = await fetch('/admin');
      if (admin.ok) document.getElementById('admin').innerHTML = await admin.text();
      result.dataset.state = 'done';
    } catch (err) {
      result.dataset.state = 'failed';
      result.textContent = 'failed: ' + err.message;
    } finally {
      button.disabled = false;
    }
  });
</script>
</body>
</html>`;
}
