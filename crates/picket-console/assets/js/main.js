// The shell: sign-in gate, the navigation the key's permissions allow, hash routes that
// survive a reload (#/threats/<id>, #/network/services, …), and the theme toggle.
import { signedIn, signOut, perms } from './api.js';
import { h, fill, errorBox } from './ui.js';

// [route, label, permission check, module]
const PAGES = [
  ['map', 'Map', (p) => p.map, () => import('./pages/map.js')],
  ['threats', 'Threats', (p) => p.threats, () => import('./pages/threats.js')],
  ['incidents', 'Incidents', (p) => p.incidents, () => import('./pages/incidents.js')],
  ['alerts', 'Alerts', (p) => p.alerts, () => import('./pages/alerts.js')],
  ['network', 'Network', () => true, () => import('./pages/network.js')],
  ['assets', 'Assets', (p) => p.assets, () => import('./pages/assets.js')],
  ['reports', 'Reports', (p) => p.reports, () => import('./pages/reports.js')],
];

/** The current route: `#/a/b?x=1` → {parts: ['a','b'], params: URLSearchParams}. */
export function route() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query || '') };
}

/** Navigates to `#/…`, keeping history. */
export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

/** Replaces the query part of the current route without adding history (filters). */
export function setParams(params) {
  const { parts } = route();
  const q = new URLSearchParams(params).toString();
  history.replaceState(null, '', `#/${parts.map(encodeURIComponent).join('/')}${q ? `?${q}` : ''}`);
}

function allowedPages() {
  const p = perms();
  return PAGES.filter(([, , ok]) => ok(p));
}

function renderNav(current) {
  const nav = document.getElementById('nav');
  if (!signedIn()) {
    nav.replaceChildren();
    nav.hidden = true;
    document.getElementById('signout').hidden = true;
    return;
  }
  nav.hidden = false;
  document.getElementById('signout').hidden = false;
  fill(nav, allowedPages().map(([r, label]) =>
    h('a', { href: `#/${r}`, 'aria-current': r === current ? 'page' : undefined }, label)));
}

let generation = 0;

async function render() {
  const main = document.getElementById('main');
  const r = route();
  const mine = ++generation;
  if (!signedIn()) {
    renderNav(null);
    const m = await import('./pages/signin.js');
    if (mine === generation) m.render(main, r);
    return;
  }
  const pages = allowedPages();
  let name = r.parts[0];
  if (!name || name === 'signin') {
    location.replace(`#/${pages.length ? pages[0][0] : 'network'}`);
    return;
  }
  renderNav(name);
  const page = PAGES.find(([n]) => n === name);
  if (!page) {
    fill(main, h('h1', {}, 'Not found'), h('p', {}, 'No page at this address. ', h('a', { href: '#/' }, 'Start page')));
    return;
  }
  if (!page[2](perms())) {
    fill(main, h('h1', {}, page[1]), errorBox({ message: `Not allowed: your key's permissions do not include ${page[1].toLowerCase()}.` }));
    return;
  }
  try {
    const m = await page[3]();
    if (mine !== generation) return;
    document.title = `${page[1]} · Picket`;
    await m.render(main, r);
  } catch (e) {
    if (mine === generation) fill(main, h('h1', {}, page[1]), errorBox(e));
  }
}

function applyTheme(t) {
  if (t) document.documentElement.dataset.theme = t;
  else delete document.documentElement.dataset.theme;
  window.dispatchEvent(new Event('picket:theme'));
}

/** The theme in effect: the toggle's choice, else the system preference. */
export function currentTheme() {
  return document.documentElement.dataset.theme
    || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
}

document.getElementById('theme').addEventListener('click', () => {
  const next = currentTheme() === 'dark' ? 'light' : 'dark';
  localStorage.setItem('picket.theme', next);
  applyTheme(next);
});
document.getElementById('signout').addEventListener('click', () => {
  signOut();
  location.hash = '#/signin';
  render();
});
window.addEventListener('picket:signedout', () => render());
window.addEventListener('hashchange', () => {
  render();
  document.getElementById('main').focus({ preventScroll: true });
});
applyTheme(localStorage.getItem('picket.theme'));
render();
