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
const flowName = (f) => {
  const name = f.server_name ?? f.http_host ?? f.dns_name;
  // The DNS name too when the connection asked for another (a CDN's address, a proxy).
  return f.dns_name && name && f.dns_name !== name && !name.startsWith(`${f.dns_name}:`) ? `${name}; DNS ${f.dns_name}` : name;
};
const flowText = (f) =>
  `${f.ts} ${f.proto}${f.service ? `/${f.service}` : ''} ${f.orig_h}:${f.orig_p} → ${f.resp_h}:${f.resp_p}${flowName(f) ? ` (${flowName(f)})` : ''} ${f.conn_state} ↑${bytes(f.orig_bytes)} ↓${bytes(f.resp_bytes)}${f.attribution_method ? ` [${f.attribution_method}${f.nat_of ? ` of ${f.nat_of}` : ''}]` : ''}`;

/** Where a process ran, when its cgroup says: the container (12 hex digits, as `docker ps`), its pod, else its systemd unit. */
const placeText = (p) =>
  p.container_id ? `${p.container_runtime} ${p.container_id.slice(0, 12)}${p.pod_uid ? ` pod ${p.pod_uid}` : ''}` : p.systemd_unit || '';

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

/**
 * The process tree, opening on what used the network: processes with flows and their ancestors
 * are shown open; every other subtree (kernel threads, shells that only forked, idle daemons) is
 * folded into one closed "without network activity" entry per parent — still searched.
 */
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
  const active = new Map();
  const isActive = (p) => {
    const key = `${p.session_id}/${p.process_key}`;
    if (!active.has(key)) {
      active.set(key, false); // a cycle in parent keys stops here
      active.set(key, (flowsOf.get(key) || []).length > 0 || (children.get(key) || []).some(isActive));
    }
    return active.get(key);
  };
  const group = (list, depth) => {
    const quiet = list.filter((p) => !isActive(p));
    return [
      ...list.filter(isActive).map((p) => node(p, depth)),
      quiet.length ? el('details', { class: 'quiet' }, el('summary', { class: 'muted' }, `${quiet.length} process${quiet.length > 1 ? 'es' : ''} without network activity`), quiet.map((p) => node(p, depth + 1))) : null,
    ];
  };
  const node = (p, depth) => {
    const key = `${p.session_id}/${p.process_key}`;
    const flows = flowsOf.get(key) || [];
    const label = `${p.pid} ${p.path || '?'}${p.argv ? ` ${p.argv.slice(1).join(' ')}` : ''}`;
    const place = placeText(p);
    return el('details', { open: isActive(p) ? '' : null, class: 'proc', 'data-search': `${label} ${place} ${p.process_key} ${flows.map(flowText).join(' ')}`.toLowerCase() },
      el('summary', {}, el('span', { class: 'swatch', style: `background:${colour(p.process_key)}` }), label, ' ',
        place ? el('span', { class: 'place' }, place) : null, place ? ' ' : null,
        el('span', { class: 'muted' }, `(${p.process_key}${flows.length ? `, ${flows.length} flow${flows.length > 1 ? 's' : ''}` : ''})`)),
      flows.length ? el('ul', { class: 'flows' }, flows.map((f) => el('li', {}, flowText(f)))) : null,
      group(children.get(key) || [], depth + 1));
  };
  document.getElementById('tree').append(...(roots.length ? group(roots, 0) : [el('p', { class: 'muted' }, 'no process events in these sessions')]));
}

/** Flows over time, one row each, coloured by process; `from`/`to` (seconds from each session's first flow) zoom to a window. */
function timeline() {
  const host = document.getElementById('timeline');
  const from = document.getElementById('zoom-from');
  const to = document.getElementById('zoom-to');
  const draw = () => {
    host.replaceChildren();
    const sessions = [...new Set(data.flows.map((f) => f.session_id))];
    if (!sessions.length) return host.append(el('p', { class: 'muted' }, 'no flows'));
    const names = new Map(data.processes.map((p) => [`${p.session_id}/${p.process_key}`, `${p.pid} ${p.path || '?'}`]));
    for (const s of sessions) {
      const all = data.flows.filter((f) => f.session_id === s);
      const first = Math.min(...all.map((f) => f.start_t));
      const start = first + (Number(from.value) || 0) * 1e9;
      const end = to.value === '' ? Math.max(...all.map((f) => f.end_t), start + 1) : Math.max(first + Number(to.value) * 1e9, start + 1);
      const flows = all.filter((f) => f.end_t >= start && f.start_t <= end).slice(0, 2000);
      const width = 1000;
      const row = 14;
      const x = (t) => 150 + ((Math.min(Math.max(t, start), end) - start) / (end - start)) * (width - 160);
      host.append(el('svg', { viewBox: `0 0 ${width} ${flows.length * row + 24}`, width: '100%', role: 'img', 'aria-label': `flows of session ${s} over time` },
        el('text', { x: 150, y: 10 }, `${((end - start) / 1e9).toFixed(3)} s from ${((start - first) / 1e9).toFixed(3)} s after the first flow (${flows.length} of ${all.length} flows)`),
        flows.map((f, i) => el('rect', {
          x: x(f.start_t), y: 16 + i * row, width: Math.max(2, x(f.end_t) - x(f.start_t)), height: row - 2, fill: colour(f.process_key),
          'data-search': `${flowText(f)} ${f.exe || ''}`.toLowerCase(),
        }, el('title', {}, [
          flowText(f),
          f.process_key ? names.get(`${f.session_id}/${f.process_key}`) || f.process_key : f.unattributed_reason,
          placeText(f),
          f.ancestry ? `< ${f.ancestry}` : '',
        ].filter(Boolean).join('\n')))),
        flows.map((f, i) => el('text', { x: 0, y: 16 + i * row + 10 }, `${f.resp_h}:${f.resp_p}`.slice(0, 26)))));
    }
    document.getElementById('search').dispatchEvent(new Event('input')); // keep the search applied
  };
  from.addEventListener('input', draw);
  to.addEventListener('input', draw);
  draw();
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
search();
timeline();
tables();
