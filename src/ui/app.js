// The capacity page: reads GET ../capacity (every page of it) with the token kept in sessionStorage,
// sent as X-Auth-Token like any API client; renders with textContent only. No build step.
'use strict';

const REFRESH_MS = 5000;
/** A big cloud takes longer to read: wait at least this many times the last load, so one tab keeps the service busy <= 20%. */
const BACKOFF_FACTOR = 4;
const TIMEOUT_MS = 10000;
const PAGE_LIMIT = 1000;
const MAX_PAGES = 50;
/** Used for marking when the service has no EMPLACE_STALE_AFTER_SECONDS and the user typed none. */
const PAGE_STALE_AFTER = 600;
const TOKEN_KEY = 'emplace.token';

const state = {
  data: null,
  sort: { key: 'name', descending: false },
  timer: undefined,
  loading: false,
  staleAfter: undefined,
};

const $ = (id) => document.getElementById(id);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

function setStatus(text, kind) {
  const status = $('status');
  status.textContent = text;
  status.className = kind || '';
}

/** The threshold asked for: the user's, else the service's, else the page's own. */
function staleAfterParam() {
  const typed = Number($('stale-after').value);
  if (Number.isInteger(typed) && typed >= 1) return typed;
  return state.staleAfter;
}

async function getJson(url) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  try {
    const res = await fetch(url, {
      headers: { 'X-Auth-Token': token(), Accept: 'application/json' },
      signal: controller.signal,
      cache: 'no-store',
      credentials: 'omit',
    });
    const body = await res.json().catch(() => undefined);
    if (!res.ok) {
      const detail = body && body.errors && body.errors[0] ? body.errors[0].detail : res.statusText;
      const error = new Error(String(detail).trim().split('\n').pop().trim() || `HTTP ${res.status}`);
      error.status = res.status;
      throw error;
    }
    return body;
  } finally {
    clearTimeout(timer);
  }
}

/** Every page of hosts; totals come with the first. */
async function loadCapacity() {
  const params = new URLSearchParams({ limit: String(PAGE_LIMIT) });
  const staleAfter = staleAfterParam();
  if (staleAfter !== undefined) params.set('stale_after', String(staleAfter));
  const first = await getJson(`../capacity?${params}`);
  const hosts = [...first.hosts];
  let marker = first.next_marker;
  for (let page = 1; marker && page < MAX_PAGES; page++) {
    params.set('marker', marker);
    const next = await getJson(`../capacity?${params}`);
    hosts.push(...next.hosts);
    marker = next.next_marker;
  }
  return { ...first, hosts, truncated: Boolean(marker) };
}

async function refresh() {
  clearTimeout(state.timer);
  if (!token()) {
    setStatus('Enter a token to load capacity.');
    return;
  }
  if (state.loading) return;
  state.loading = true;
  const started = Date.now();
  let wait = REFRESH_MS;
  try {
    let data = await loadCapacity();
    if (data.stale_after_seconds === null && state.staleAfter === undefined) {
      // The service judges no host stale by itself: mark with the page's threshold instead.
      state.staleAfter = PAGE_STALE_AFTER;
      data = await loadCapacity();
    }
    state.data = data;
    render();
    wait = Math.max(REFRESH_MS, (Date.now() - started) * BACKOFF_FACTOR);
    const clock = new Date().toLocaleTimeString();
    setStatus(
      `Updated ${clock} · ${data.hosts.length} hosts${data.truncated ? ' (first ones only)' : ''} · ` +
        `stale after ${data.stale_after_seconds} s · refreshing every ${Math.round(wait / 1000)} s`,
      'ok',
    );
  } catch (error) {
    const text = error.name === 'AbortError' ? 'The service did not answer in time.' : error.message;
    setStatus(`Could not load capacity: ${text}`, 'error');
    if (error.status === 401) sessionStorage.removeItem(TOKEN_KEY);
  } finally {
    state.loading = false;
    if (token()) state.timer = setTimeout(refresh, wait);
  }
}

/** Models the cloud has (in the service's order): one column each. */
function modelsPresent(data) {
  const present = new Set(Object.keys(data.totals ? data.totals.by_model : {}));
  for (const host of data.hosts) for (const model of Object.keys(host.by_model)) present.add(model);
  return data.models.filter((model) => present.has(model));
}

function card(title, value, details, className) {
  const node = element('div', `card ${className || ''}`);
  node.append(element('h2', '', title), element('p', 'value', value));
  for (const detail of details) node.append(element('p', 'detail', detail));
  return node;
}

const plural = (count, word) => `${count} ${word}${count === 1 ? '' : 's'}`;

function slotsCard(title, t) {
  return card(
    title,
    `${t.free} free`,
    [`${t.used} used of ${t.capacity}`, plural(t.hosts, 'host')],
    t.free === 0 ? 'empty' : '',
  );
}

function renderTotals(data, models) {
  const totals = data.totals;
  const section = $('totals');
  section.replaceChildren();
  if (!totals) return;
  section.append(slotsCard('All models', totals));
  for (const model of models) if (totals.by_model[model]) section.append(slotsCard(model, totals.by_model[model]));
  section.append(
    card('Stale hosts', String(totals.stale_hosts), [`silent > ${data.stale_after_seconds} s`], 'warn'),
    card(
      'Draining hosts',
      String(totals.draining_hosts),
      [`${plural(totals.draining_used, 'slot')} still held`],
      'drain',
    ),
  );
}

function hostState(host) {
  if (host.stale) return 'stale';
  if (host.draining) return 'draining';
  return host.free > 0 ? 'free' : 'full';
}

function sortValue(host, key) {
  if (key === 'name') return host.name.toLowerCase();
  if (key === 'state') return hostState(host);
  if (key === 'heartbeat') return host.heartbeat_age_seconds === null ? -1 : host.heartbeat_age_seconds;
  if (key === 'free' || key === 'used' || key === 'capacity') return host[key];
  const model = host.by_model[key];
  return model ? model.free : -1;
}

function visibleHosts(data) {
  const text = $('filter').value.trim().toLowerCase();
  const show = $('show').value;
  const model = $('model').value;
  const hosts = data.hosts.filter((host) => {
    if (text && !host.name.toLowerCase().includes(text) && !host.uuid.includes(text)) return false;
    if (model && !host.by_model[model]) return false;
    if (show === 'free') return host.free > 0 && !host.stale;
    if (show === 'full') return host.free === 0;
    if (show === 'stale') return host.stale;
    if (show === 'draining') return host.draining;
    return true;
  });
  const { key, descending } = state.sort;
  return hosts.sort((a, b) => {
    const x = sortValue(a, key);
    const y = sortValue(b, key);
    const order = x < y ? -1 : x > y ? 1 : a.name.localeCompare(b.name);
    return descending ? -order : order;
  });
}

function headerCell(label, key, className) {
  const th = element('th', className || '');
  const button = element('button', '', label);
  button.type = 'button';
  button.dataset.sort = key;
  if (state.sort.key === key) {
    th.setAttribute('aria-sort', state.sort.descending ? 'descending' : 'ascending');
    button.textContent = `${label} ${state.sort.descending ? '▼' : '▲'}`;
  }
  button.addEventListener('click', () => {
    state.sort = { key, descending: state.sort.key === key ? !state.sort.descending : key !== 'name' };
    render();
  });
  th.append(button);
  return th;
}

/** "12 free" over "3 used / 15" with a bar of the used share. */
function slotsCell(amounts, className) {
  const td = element('td', `slots ${className || ''}`);
  if (!amounts) {
    td.append(element('span', 'none', '—'));
    return td;
  }
  td.append(element('span', amounts.free === 0 ? 'free zero' : 'free', `${amounts.free} free`));
  const reserved = amounts.reserved > 0 ? ` · ${amounts.reserved} reserved` : '';
  td.append(element('span', 'used', `${amounts.used} used / ${amounts.capacity}${reserved}`));
  const bar = element('span', 'bar');
  const fill = element('span', 'fill');
  const share = amounts.capacity > 0 ? Math.min(amounts.used / amounts.capacity, 1) : 1;
  fill.style.width = `${Math.round(share * 100)}%`;
  bar.append(fill);
  td.append(bar);
  return td;
}

function age(seconds) {
  if (seconds === null) return 'never';
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

function hostRow(host, models) {
  const tr = element('tr', hostState(host));
  tr.dataset.uuid = host.uuid;
  const name = element('td', 'host');
  name.append(element('span', 'name', host.name), element('span', 'uuid', host.uuid));
  const badges = element('td', 'state');
  if (host.stale) badges.append(element('b', 'badge stale', 'stale'));
  if (host.draining) badges.append(element('b', 'badge draining', 'draining'));
  if (!host.stale && !host.draining)
    badges.append(element('span', host.free > 0 ? 'ok' : 'full', host.free > 0 ? 'ok' : 'full'));
  tr.append(name, badges);
  for (const model of models) tr.append(slotsCell(host.by_model[model], `model-${model}`));
  tr.append(slotsCell(host, 'all'));
  tr.append(element('td', 'heartbeat', age(host.heartbeat_age_seconds)));
  return tr;
}

function renderModelChoice(models) {
  const select = $('model');
  const current = select.value;
  select.replaceChildren(element('option', '', 'any'));
  select.firstChild.value = '';
  for (const model of models) {
    const option = element('option', '', model);
    option.value = model;
    select.append(option);
  }
  select.value = models.includes(current) ? current : '';
}

function render() {
  const data = state.data;
  if (!data) return;
  $('class-name').textContent = data.resource_class;
  const models = modelsPresent(data);
  renderTotals(data, models);
  renderModelChoice(models);
  const head = element('tr');
  head.append(headerCell('Host', 'name'), headerCell('State', 'state'));
  for (const model of models) head.append(headerCell(model, model, 'slots'));
  head.append(headerCell('All slots', 'free', 'slots'), headerCell('Heartbeat', 'heartbeat'));
  $('hosts').tHead.replaceChildren(head);
  const hosts = visibleHosts(data);
  $('hosts').tBodies[0].replaceChildren(...hosts.map((host) => hostRow(host, models)));
  $('shown').textContent = `${hosts.length} of ${data.hosts.length} hosts shown`;
}

function start() {
  $('token').value = token();
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    refresh();
  });
  $('forget').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    $('token').value = '';
    clearTimeout(state.timer);
    state.data = null;
    $('totals').replaceChildren();
    $('hosts').tBodies[0].replaceChildren();
    setStatus('Enter a token to load capacity.');
  });
  for (const id of ['filter', 'show', 'model']) $(id).addEventListener('input', render);
  $('stale-after').addEventListener('change', refresh);
  refresh();
}

document.addEventListener('DOMContentLoaded', start);
