// Serin dashboard: plain JavaScript, no dependencies. Every request sends
// the token in the Authorization header (never a cookie); live updates
// come as server-sent events read through fetch, which can send that
// header where EventSource cannot. All text goes into the page as text
// nodes, never as HTML.
'use strict';

const tokenKey = 'serin-token';
let streamAbort = null;

function token() { return sessionStorage.getItem(tokenKey) || ''; }

function headers(extra) {
  const h = Object.assign({}, extra);
  if (token()) h.Authorization = 'Bearer ' + token();
  return h;
}

// el builds an element; children are nodes or strings (as text).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs, ...children) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  // 0 is a label too (the axis' low end).
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function show(id) {
  for (const s of ['signin', 'list', 'detail']) document.getElementById(s).hidden = s !== id;
}

function time(t) { return t ? new Date(t).toISOString().slice(11, 19) : ''; }

function since(t) {
  if (!t) return '';
  const s = Math.max(0, Math.round((Date.now() - new Date(t).getTime()) / 1000));
  if (s < 120) return s + 's';
  if (s < 7200) return Math.round(s / 60) + 'm';
  return Math.round(s / 3600) + 'h';
}

function badge(phase, paused) {
  const p = phase || 'Unknown';
  return el('span', { class: 'badge phase-' + p.toLowerCase() }, p + (paused ? ' (paused)' : ''));
}

async function api(path, opts) {
  const res = await fetch(path, Object.assign({}, opts, { headers: headers(opts && opts.headers) }));
  if (res.status === 401) { signOut('Your token was not accepted.'); throw new Error('unauthorized'); }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

// stream reads server-sent events from path, calling on(event, data),
// and reconnects after a break until it is replaced by another stream.
async function stream(path, on) {
  if (streamAbort) streamAbort.abort();
  const ctl = new AbortController();
  streamAbort = ctl;
  while (!ctl.signal.aborted) {
    try {
      const res = await fetch(path, { headers: headers(), signal: ctl.signal });
      if (res.status === 401) { signOut('Your token was not accepted.'); return; }
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        on('end', { reason: body.error || res.statusText });
        return;
      }
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const chunk = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message', data = '';
          for (const line of chunk.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data) on(event, JSON.parse(data));
          if (event === 'end') { ctl.abort(); return; }
        }
      }
    } catch (e) {
      if (ctl.signal.aborted) return;
    }
    await new Promise(r => setTimeout(r, 2000));
  }
}

function renderList(items) {
  const body = document.querySelector('#canary-list tbody');
  body.replaceChildren(...items.map(c => el('tr', { 'data-canary': c.namespace + '/' + c.name },
    el('td', {}, c.namespace),
    el('td', {}, el('a', { href: '#/' + c.namespace + '/' + c.name }, c.name)),
    el('td', {}, badge(c.phase, c.paused)),
    el('td', { class: 'weight' }, el('span', { class: 'bar' }, el('span', { class: 'fill', 'data-weight': c.weight })), ' ' + c.weight + '%'),
    el('td', {}, c.failedChecks + '/' + c.threshold),
    el('td', { class: 'decision' }, c.problem || c.lastDecision || ''),
    el('td', {}, since(c.lastTransitionTime)))));
  for (const f of body.querySelectorAll('.fill')) f.style.width = f.dataset.weight + '%';
  document.getElementById('list-empty').hidden = items.length > 0;
}

// chart draws values over time: points joined by a line, an optional
// band of accepted values, and the threshold lines.
function chart(id, title, points, opts) {
  const w = 640, h = 180, pad = 36;
  const box = svg('svg', { id, viewBox: `0 0 ${w} ${h}`, class: 'chart', role: 'img', 'aria-label': title,
    'data-points': points.map(p => p.y).join(',') });
  const ys = points.map(p => p.y).concat([opts.min, opts.max, opts.lo, opts.hi].filter(v => v !== undefined && v !== null));
  const lo = Math.min(...ys, opts.floor ?? Infinity), hi = Math.max(...ys, opts.ceil ?? -Infinity);
  const span = hi - lo || 1;
  const t0 = points.length ? points[0].t : 0, t1 = points.length ? points[points.length - 1].t : 1;
  const x = t => pad + (t1 === t0 ? (w - 2 * pad) / 2 : (t - t0) / (t1 - t0) * (w - 2 * pad));
  const y = v => h - pad + 8 - (v - lo) / span * (h - 2 * pad);
  box.append(svg('text', { x: pad, y: 14, class: 'title' }, title));
  for (const v of [lo, hi]) box.append(svg('text', { x: 2, y: y(v) + 4, class: 'axis' }, +v.toFixed(2)));
  for (const [v, name] of [[opts.lo, 'min'], [opts.hi, 'max']]) {
    if (v === undefined || v === null) continue;
    box.append(svg('line', { x1: pad, x2: w - pad, y1: y(v), y2: y(v), class: 'threshold' }));
    box.append(svg('text', { x: w - pad + 2, y: y(v) + 4, class: 'axis' }, name + ' ' + v));
  }
  if (points.length) {
    const path = points.map((p, i) => (i ? 'L' : 'M') + x(p.t).toFixed(1) + ' ' + y(p.y).toFixed(1)).join(' ');
    box.append(svg('path', { d: path, class: 'line' }));
    for (const p of points) box.append(svg('circle', { cx: x(p.t), cy: y(p.y), r: 3.5, class: p.ok === false ? 'bad' : 'good' },
      svg('title', {}, time(p.time) + ': ' + p.y)));
  }
  return box;
}

async function pull(ns, name, lever) {
  const msg = document.getElementById('lever-message');
  try {
    const res = await api(`/api/v1/namespaces/${encodeURIComponent(ns)}/canaries/${encodeURIComponent(name)}/${lever}`,
      { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    msg.className = 'ok';
    msg.textContent = lever === 'resume' ? 'Resume requested.' : `${lever} requested (${res.annotation}=${res.id}); the operator acts on it next.`;
  } catch (e) {
    msg.className = 'error';
    msg.textContent = e.message;
  }
}

function leverButtons(c, canPatch) {
  if (!canPatch) return el('p', { id: 'levers-denied', class: 'muted' }, 'Levers need patch on canaries in ' + c.namespace + '; RBAC does not allow it for you.');
  const b = (lever, label, title) => el('button', { id: 'lever-' + lever, type: 'button', title,
    onclick: () => { if (lever !== 'abort' || confirm('Roll ' + c.name + ' back now?')) pull(c.namespace, c.name, lever); } }, label);
  return el('div', { class: 'levers' },
    b('promote', 'Promote', 'Skip the remaining steps and promote now'),
    b('abort', 'Abort', 'Roll back now'),
    b('retry', 'Retry', 'Run the analysis of a failed revision again'),
    c.paused ? b('resume', 'Resume', 'Let the release go on') : b('pause', 'Pause', 'Hold the release at its weight'),
    el('span', { id: 'lever-message', role: 'status' }));
}

function checkCells(checks) {
  return el('ul', { class: 'checks' }, (checks || []).map(k => el('li', { class: k.passed ? 'good' : 'bad' },
    (k.passed ? '✔ ' : '✘ ') + k.name + (k.kind === 'metric' ? ` ${k.value || 'no value'} (${k.threshold || 'no threshold'})` : ` (${k.kind} webhook)`))));
}

function renderDetail(d) {
  const c = d.canary, x = c.explanation;
  const message = document.getElementById('lever-message');
  const kept = message ? [message.className, message.textContent] : null;
  const timeline = c.timeline.map(r => ({ t: new Date(r.time).getTime(), y: r.canaryWeight, time: r.time, ok: r.passed || !(r.checks || []).length }));
  const section = document.getElementById('detail');
  section.replaceChildren(
    el('p', {}, el('a', { href: '#/' }, '← all canaries')),
    el('h1', {}, c.name + '.' + c.namespace, ' ', badge(c.phase, c.paused)),
    el('p', { class: 'muted' }, `${c.target} · ${c.strategy} · every ${c.interval}` + (c.provider ? ' · ' + c.provider : '') +
      ` · weight ${c.weight}% · failed checks ${c.failedChecks}/${c.threshold}`),
    el('div', { id: 'explanation', class: 'explain' }, el('strong', {}, x.headline), x.run ? el('p', {}, x.run) : null,
      x.decision ? el('p', {}, 'Decision: ' + x.decision) : null, (x.next || []).map(n => el('p', { class: 'muted' }, n))),
    leverButtons(c, d.canPatch),
    el('h2', {}, 'Release timeline'),
    chart('weight-chart', 'Canary weight (%)', timeline, { floor: 0, ceil: Math.max(c.maxWeight || 100, 10) }),
    el('h2', {}, 'Metrics against thresholds'),
    // replaceChildren does not flatten arrays: the charts go in a div.
    el('div', { id: 'metric-charts' }, c.series.length ? c.series.map((s, i) => chart('metric-chart-' + i, s.name + ' ' + (s.threshold || ''),
      s.points.map(p => ({ t: new Date(p.time).getTime(), y: p.value, time: p.time, ok: p.passed })), { lo: s.min, hi: s.max }))
      : el('p', { class: 'muted' }, 'No metric values recorded yet.')),
    el('h2', {}, 'Steps'),
    el('table', { id: 'steps' }, el('thead', {}, el('tr', {}, ['Time', 'Phase', 'Weight', 'Checks', 'Decision'].map(h => el('th', {}, h)))),
      el('tbody', {}, c.timeline.slice().reverse().map(r => el('tr', {}, el('td', {}, time(r.time)), el('td', {}, r.phase),
        el('td', {}, r.canaryWeight + '%'), el('td', {}, checkCells(r.checks)), el('td', { class: 'decision' }, r.decision || ''))))),
    el('h2', {}, 'Gates and webhooks'),
    el('ul', {}, c.gates.concat(c.hooks).map(g => el('li', {}, g.name + ' (' + g.type + ')')), c.gates.length + c.hooks.length ? null : el('li', { class: 'muted' }, 'none')),
    el('h2', {}, 'Events'),
    d.eventsHidden ? el('p', { class: 'muted' }, 'RBAC does not let you list events in ' + c.namespace + '.') :
      el('table', { id: 'events' }, el('tbody', {}, c.events.slice().reverse().map(e => el('tr', { class: e.type === 'Warning' ? 'warn' : '' },
        el('td', {}, time(e.time)), el('td', {}, e.reason), el('td', {}, e.message + (e.count > 1 ? ` (×${e.count})` : '')))))));
  if (kept) { const m = document.getElementById('lever-message'); if (m) { m.className = kept[0]; m.textContent = kept[1]; } }
}

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 2) {
    show('detail');
    document.getElementById('detail').replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    stream(`/api/v1/stream?namespace=${encodeURIComponent(parts[0])}&name=${encodeURIComponent(parts[1])}`, (ev, data) => {
      if (ev === 'detail') renderDetail(data);
      if (ev === 'end') document.getElementById('detail').replaceChildren(el('p', { class: 'error', role: 'alert' }, data.reason));
    });
    return;
  }
  show('list');
  stream('/api/v1/stream', (ev, data) => {
    if (ev === 'list') renderList(data.items);
    if (ev === 'end') document.getElementById('list-empty').textContent = data.reason;
  });
}

function signOut(reason) {
  if (streamAbort) streamAbort.abort();
  sessionStorage.removeItem(tokenKey);
  document.getElementById('whoami').textContent = '';
  document.getElementById('signout').hidden = true;
  document.getElementById('signin-error').textContent = reason || '';
  show('signin');
}

async function start() {
  try {
    const me = await api('/api/v1/whoami');
    document.getElementById('whoami').textContent = me.user;
    document.getElementById('signout').hidden = !token();
    route();
  } catch (e) { /* signOut has shown the sign-in form */ }
}

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('signin-form').addEventListener('submit', ev => {
    ev.preventDefault();
    sessionStorage.setItem(tokenKey, document.getElementById('token').value.trim());
    document.getElementById('token').value = '';
    start();
  });
  document.getElementById('signout').addEventListener('click', () => signOut(''));
  window.addEventListener('hashchange', () => { if (document.getElementById('signin').hidden) route(); });
  start();
});
