// netprov report page: draws the embedded analysis. No network, no external code.
'use strict';

const data = JSON.parse(document.getElementById('data').textContent);

/** An element with attributes and children; text is always set as text, never as HTML. */
function el(tag, attrs, ...children) {
  const node = tag === 'svg' || tag === 'rect' || tag === 'title' || tag === 'text' || tag === 'line'
    ? document.createElementNS('http://www.w3.org/2000/svg', tag)
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  return node;
}

function colour(key) {
  if (!key) return '#b8bfcc';
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return `hsl(${h % 360}, 62%, 48%)`;
}

const bytes = (n) => (n === null || n === undefined ? '-' : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`);
// The name a flow is known by: the TLS server name it asked for, else its HTTP Host, else the DNS name answered for its address.
const flowName = (f) => f.server_name ?? f.http_host ?? f.dns_name;
const flowText = (f) =>
  `${f.ts} ${f.proto}${f.service ? `/${f.service}` : ''} ${f.orig_h}:${f.orig_p} → ${f.resp_h}:${f.resp_p}${flowName(f) ? ` (${flowName(f)})` : ''} ${f.conn_state} ↑${bytes(f.orig_bytes)} ↓${bytes(f.resp_bytes)}`;

function table(columns, rows, searchable) {
  if (!rows.length) return el('p', { class: 'muted' }, 'none');
  return el('table', {},
    el('tr', {}, columns.map(([label]) => el('th', {}, label))),
    rows.map((r) => el('tr', searchable ? { 'data-search': columns.map(([, get]) => String(get(r) ?? '')).join(' ').toLowerCase() } : {},
      columns.map(([, get, cls]) => el('td', cls ? { class: cls } : {}, get(r) ?? '-')))));
}

function summary() {
  const lost = data.losses.reduce((a, l) => a + l.count, 0);
  const attributed = data.flows.filter((f) => f.process_key).length;
  document.getElementById('summary').append(
    el('div', { class: 'stats' },
      el('div', {}, el('b', {}, data.sessions.length), 'sessions'),
      el('div', {}, el('b', {}, data.processes.length), 'processes'),
      el('div', {}, el('b', {}, data.flows.length), 'flows'),
      el('div', {}, el('b', {}, `${attributed}/${data.flows.length}`), 'flows attributed'),
      el('div', {}, el('b', {}, lost), 'events lost')),
    table([['session', (s) => s.session_id], ['host', (s) => s.host], ['sensor', (s) => s.sensor], ['start (UTC)', (s) => s.start], ['events', (s) => s.events, 'num'],
      ['state', (s) => (s.chunks_bad ? `${s.chunks_bad} corrupt chunks` : s.complete ? 'complete' : 'cut short')]], data.sessions, false));
}

function tree() {
  const byKey = new Map(data.processes.map((p) => [`${p.session_id}/${p.process_key}`, p]));
  const children = new Map();
  const roots = [];
  for (const p of data.processes) {
    const parent = p.parent_key ? `${p.session_id}/${p.parent_key}` : null;
    if (parent && byKey.has(parent)) (children.get(parent) || children.set(parent, []).get(parent)).push(p);
    else roots.push(p);
  }
  const flowsOf = new Map();
  for (const f of data.flows) if (f.process_key) (flowsOf.get(`${f.session_id}/${f.process_key}`) || flowsOf.set(`${f.session_id}/${f.process_key}`, []).get(`${f.session_id}/${f.process_key}`)).push(f);
  const node = (p, depth) => {
    const key = `${p.session_id}/${p.process_key}`;
    const flows = flowsOf.get(key) || [];
    const label = `${p.pid} ${p.path || '?'}${p.argv ? ` ${p.argv.slice(1).join(' ')}` : ''}`;
    const details = el('details', { open: depth < 3 ? '' : null, class: 'proc', 'data-search': `${label} ${p.process_key} ${flows.map(flowText).join(' ')}`.toLowerCase() },
      el('summary', {}, el('span', { class: 'swatch', style: `background:${colour(p.process_key)}` }), label, ' ',
        el('span', { class: 'muted' }, `(${p.process_key}${flows.length ? `, ${flows.length} flow${flows.length > 1 ? 's' : ''}` : ''})`)),
      flows.length ? el('ul', { class: 'flows' }, flows.map((f) => el('li', {}, flowText(f)))) : null,
      (children.get(key) || []).map((c) => node(c, depth + 1)));
    return details;
  };
  document.getElementById('tree').append(...(roots.length ? roots.map((p) => node(p, 0)) : [el('p', { class: 'muted' }, 'no process events in these sessions')]));
}

function timeline() {
  const host = document.getElementById('timeline');
  const sessions = [...new Set(data.flows.map((f) => f.session_id))];
  if (!sessions.length) return host.append(el('p', { class: 'muted' }, 'no flows'));
  const names = new Map(data.processes.map((p) => [`${p.session_id}/${p.process_key}`, `${p.pid} ${p.path || '?'}`]));
  for (const s of sessions) {
    const flows = data.flows.filter((f) => f.session_id === s).slice(0, 2000);
    const start = Math.min(...flows.map((f) => f.start_t));
    const end = Math.max(...flows.map((f) => f.end_t), start + 1);
    const width = 1000;
    const row = 14;
    const x = (t) => 150 + ((t - start) / (end - start)) * (width - 160);
    const svg = el('svg', { viewBox: `0 0 ${width} ${flows.length * row + 24}`, width: '100%', role: 'img', 'aria-label': `flows of session ${s} over time` },
      el('text', { x: 150, y: 10 }, `${((end - start) / 1e9).toFixed(3)} s from ${flows[0].ts}`),
      flows.map((f, i) => el('rect', {
        x: x(f.start_t), y: 16 + i * row, width: Math.max(2, x(f.end_t) - x(f.start_t)), height: row - 2, fill: colour(f.process_key),
        'data-search': `${flowText(f)} ${f.exe || ''}`.toLowerCase(),
      }, el('title', {}, `${flowText(f)}\n${f.process_key ? names.get(`${f.session_id}/${f.process_key}`) || f.process_key : f.unattributed_reason}`))),
      flows.map((f, i) => el('text', { x: 0, y: 16 + i * row + 10 }, `${f.resp_h}:${f.resp_p}`.slice(0, 26))));
    host.append(svg);
  }
}

function tables() {
  document.getElementById('talkers').append(table([['address', (t) => t.resp_h], ['DNS name', (t) => t.dns_name], ['flows', (t) => t.flows, 'num'],
    ['bytes', (t) => bytes(t.bytes), 'num'], ['processes', (t) => t.processes, 'num']], data.talkers, true));
  document.getElementById('dns').append(table([['name', (d) => d.query], ['addresses', (d) => d.answers.join(' ')], ['answers seen', (d) => d.answers_seen, 'num']], data.dns, true));
  document.getElementById('unattributed').append(table([['time', (f) => f.ts], ['flow', (f) => `${f.proto} ${f.orig_h}:${f.orig_p} → ${f.resp_h}:${f.resp_p}`],
    ['reason', (f) => f.unattributed_reason]], data.flows.filter((f) => !f.process_key), true));
  document.getElementById('losses').append(table([['session', (l) => l.session_id], ['source', (l) => l.source], ['lost', (l) => l.count, 'num'], ['reason', (l) => l.reason]], data.losses, true));
}

function search() {
  const box = document.getElementById('search');
  box.addEventListener('input', () => {
    const q = box.value.trim().toLowerCase();
    for (const node of document.querySelectorAll('[data-search]')) node.classList.toggle('hidden', q !== '' && !node.getAttribute('data-search').includes(q));
    // A process stays visible when one of its descendants matches.
    if (q) for (const node of document.querySelectorAll('details[data-search]:not(.hidden)')) {
      for (let up = node.parentElement; up; up = up.parentElement) if (up.tagName === 'DETAILS') { up.classList.remove('hidden'); up.open = true; }
    }
  });
}

summary();
tree();
timeline();
tables();
search();
