// The one way the console talks to the server: the public /v1 and /api/v1 APIs, with the
// signed-in key in the X-API-Key header (never in a URL). The key lives in sessionStorage, so
// it is gone when the tab closes.

const KEY = 'picket.key';
const PERMS = 'picket.perms';

export function key() { return sessionStorage.getItem(KEY); }
export function signedIn() { return !!key(); }

export function signOut() {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(PERMS);
}

/** An error answer of either surface, with its status and the server's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
  get forbidden() { return this.status === 403; }
}

/** Builds `path?query`; arrays repeat the parameter, empty values are left out. */
export function withQuery(path, query) {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.append(k, v);
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function errorOf(res) {
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json();
    // /v1: {"error": {code, message}}; /api/v1: {"error": "message"}.
    const e = body && body.error;
    if (typeof e === 'string') message = e;
    else if (e && e.message) message = e.message;
  } catch (_) { /* not JSON */ }
  if (res.status === 403) message = `Not allowed: your key lacks the permission for this (${message}).`;
  if (res.status === 401) message = 'Your key was refused (revoked, expired or wrong). Sign in again.';
  return new ApiError(res.status, message);
}

/** A raw authenticated fetch; throws ApiError on any status >= 400. */
export async function request(method, path, { query, body, headers, keyOverride } = {}) {
  const h = { 'X-API-Key': keyOverride || key() || '', ...(headers || {}) };
  let payload;
  if (body !== undefined && !(body instanceof Blob) && typeof body !== 'string') {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  } else {
    payload = body;
  }
  const res = await fetch(withQuery(path, query), { method, headers: h, body: payload });
  if (res.status === 401 && !keyOverride) {
    signOut();
    window.dispatchEvent(new Event('picket:signedout'));
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

/** JSON in, JSON out; `null` for 204. */
export async function api(method, path, opts = {}) {
  const res = await request(method, path, opts);
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  return type.includes('json') ? res.json() : res.text();
}

export const get = (path, query) => api('GET', path, { query });

/**
 * Saves a response body as a file: the download goes through a blob URL, so the key never
 * appears in a link. `onProgress(received, total)` reports bytes as they arrive.
 */
export async function download(method, path, { body, filename, onProgress } = {}) {
  const res = await request(method, path, { body });
  const total = Number(res.headers.get('content-length')) || 0;
  const reader = res.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    if (onProgress) onProgress(received, total);
  }
  const blob = new Blob(chunks, { type: res.headers.get('content-type') || 'application/octet-stream' });
  const disp = res.headers.get('content-disposition') || '';
  const m = disp.match(/filename="?([^";]+)"?/);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = (m && m[1]) || filename || 'download';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
  return { bytes: received, name: a.download };
}

// The pages and the request that tells whether a key may use each: 401 before 403 before
// 404 on both surfaces, so a 404 or 400 on a probe still means "allowed".
const PROBES = {
  map: ['GET', '/v1/events', { query: { limit: 1 } }],
  threats: ['GET', '/v1/threats', { query: { limit: 1 } }],
  incidents: ['GET', '/v1/incidents', { query: { limit: 1 } }],
  alerts: ['GET', '/v1/alerts', { query: { limit: 1 } }],
  network_alerts: ['GET', '/api/v1/networkalerts', { query: { page_size: 1 } }],
  devices: ['GET', '/api/v1/devices', { query: { page_size: 1 } }],
  networks: ['GET', '/api/v1/networks', {}],
  data: ['POST', '/api/v1/data/export', { body: {} }],
  assets: ['GET', '/v1/assets/-', {}],
  reports: ['GET', '/v1/reports', { query: { limit: 1 } }],
};

/**
 * Checks the key (401 → refused) and which pages its permissions allow, then keeps both for
 * the session.
 */
export async function signIn(candidate) {
  await request('GET', '/api/v1/about', { keyOverride: candidate });
  const perms = {};
  await Promise.all(Object.entries(PROBES).map(async ([page, [method, path, opts]]) => {
    try {
      await request(method, path, { ...opts, keyOverride: candidate });
      perms[page] = true;
    } catch (e) {
      perms[page] = e.status !== 403 && e.status !== 401;
    }
  }));
  sessionStorage.setItem(KEY, candidate);
  sessionStorage.setItem(PERMS, JSON.stringify(perms));
  return perms;
}

export function perms() {
  try { return JSON.parse(sessionStorage.getItem(PERMS)) || {}; } catch (_) { return {}; }
}
