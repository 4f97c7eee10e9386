// Assets: the list, edit, create, delete, and bulk upload of a CSV or JSON file through
// PUT /v1/assets, with each row's problems shown against the row.
import { get, api } from '../api.js';
import { h, fill, errorBox, empty, label, select, table, busy, toast, dialog } from '../ui.js';
import { when } from '../time.js';

const COLUMNS = ['asset_id', 'name', 'type', 'status', 'role', 'lat', 'lng', 'address', 'country', 'monitoring_radius_km'];

export async function render(main) {
  const filter = h('form', { class: 'panel bar', 'aria-label': 'Asset filters' },
    label('Status', select('status', ['', 'active', 'archived'], '')),
    label('Type', select('type', ['', 'facility', 'residence'], '')),
    h('button', { type: 'submit', class: 'primary' }, 'Apply'));
  const add = h('button', { type: 'button' }, 'New asset…');
  const file = h('input', { type: 'file', accept: '.csv,.json,text/csv,application/json', id: 'asset-file' });
  const upload = h('button', { type: 'button', class: 'primary', id: 'asset-upload' }, 'Upload');
  const report = h('div', { 'aria-live': 'polite', id: 'upload-report' });
  const out = h('div', { 'aria-live': 'polite' });
  fill(main, h('h1', {}, 'Assets'),
    h('section', { class: 'panel' }, h('h2', {}, 'Bulk upload'),
      h('p', { class: 'muted' }, `CSV with a header row (${COLUMNS.join(', ')}) or JSON (an array of assets, or {"assets": [...]}). Known asset_ids are updated, new ones created; one bad row stops the whole upload, so fix the rows listed and upload again.`),
      h('div', { class: 'bar' }, label('File', file), upload), report),
    filter, h('div', { class: 'bar' }, add), out);

  const load = async () => {
    const q = Object.fromEntries([...new FormData(filter).entries()].filter(([, v]) => v));
    try {
      const r = await get('/v1/assets', q);
      fill(out, r.assets.length ? table([
        ['Asset id', (a) => a.asset_id], ['Name', (a) => a.name], ['Type', (a) => a.type], ['Status', (a) => a.status],
        ['Location', (a) => (a.monitorable ? `${a.attributes.lat}, ${a.attributes.lng}` : h('span', { class: 'muted' }, 'no coordinates'))],
        ['Radius', (a) => (a.attributes.monitoring_radius_km ? `${a.attributes.monitoring_radius_km} km` : '')],
        ['Country', (a) => a.attributes.country || ''], ['Updated', (a) => when(a.updated_at)],
        ['', (a) => {
          const e = h('button', { type: 'button' }, 'Edit…');
          e.addEventListener('click', async () => {
            const fd = await dialog(`Edit ${a.name}`, fields(a), 'Save');
            if (fd) await busy(e, async () => { await api('PATCH', `/v1/assets/${a.id}`, { body: inputOf(fd) }); toast('Saved.'); await load(); });
          });
          const d = h('button', { type: 'button', class: 'danger' }, 'Delete');
          d.addEventListener('click', async () => {
            const ok = await dialog(`Delete ${a.name}?`, [h('p', {}, 'Its threats keep their history; it is no longer monitored. Archiving (Edit → status) keeps it.')], 'Delete');
            if (ok) await busy(d, async () => { await api('DELETE', `/v1/assets/${a.id}`); await load(); });
          });
          return [e, ' ', d];
        }],
      ], r.assets, { idOf: (a) => a.asset_id }) : empty('No assets. Add one, or upload a file.'));
    } catch (e) { fill(out, errorBox(e)); }
  };
  filter.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
  add.addEventListener('click', async () => {
    const fd = await dialog('New asset', fields({}), 'Create');
    if (fd) await busy(add, async () => { await api('POST', '/v1/assets', { body: inputOf(fd) }); toast('Asset created.'); await load(); });
  });
  upload.addEventListener('click', () => busy(upload, async () => {
    const f = file.files[0];
    if (!f) { fill(report, errorBox({ message: 'Choose a CSV or JSON file first.' })); return; }
    let rows;
    try { rows = parseFile(f.name, await f.text()); } catch (e) { fill(report, errorBox({ message: `Cannot read ${f.name}: ${e.message}` })); return; }
    const problems = rows.map((r, i) => [i, check(r)]).filter(([, p]) => p.length);
    if (problems.length) { fill(report, rowErrors(problems)); return; }
    try {
      const r = await api('PUT', '/v1/assets', { body: { assets: rows } });
      fill(report, h('p', {}, `Uploaded ${r.assets.length} assets.`));
      await load();
    } catch (e) {
      const m = /assets\[(\d+)\]/.exec(e.message);
      fill(report, m ? rowErrors([[Number(m[1]), [e.message]]]) : errorBox(e));
    }
  }, 'Uploading…'));
  await load();
}

function rowErrors(problems) {
  return [h('p', { class: 'error' }, `${problems.length} row(s) need fixing; nothing was written.`),
    h('ul', { class: 'row-errors' }, problems.map(([i, p]) => h('li', {}, `Row ${i + 1}: ${p.join('; ')}`)))];
}

function fields(a) {
  const at = a.attributes || {};
  return [
    h('div', { class: 'bar' },
      label('Asset id', h('input', { name: 'asset_id', required: true, value: a.asset_id || '', readonly: a.id ? true : undefined })),
      label('Name', h('input', { name: 'name', required: true, value: a.name || '' }))),
    h('div', { class: 'bar' },
      label('Type', select('type', ['facility', 'residence'], a.type || 'facility')),
      label('Status', select('status', ['active', 'archived'], a.status || 'active')),
      label('Role', h('input', { name: 'role', value: a.role || '' }))),
    h('div', { class: 'bar' },
      label('Latitude', h('input', { name: 'lat', type: 'number', step: 'any', min: -90, max: 90, value: at.lat ?? '' })),
      label('Longitude', h('input', { name: 'lng', type: 'number', step: 'any', min: -180, max: 180, value: at.lng ?? '' })),
      label('Radius (km)', h('input', { name: 'monitoring_radius_km', type: 'number', step: 'any', min: 0.1, max: 1000, value: at.monitoring_radius_km ?? '' }))),
    h('div', { class: 'bar' },
      label('Address', h('input', { name: 'address', value: at.address || '', size: 30 })),
      label('Country (ISO-2)', h('input', { name: 'country', value: at.country || '', size: 3, maxlength: 2 }))),
  ];
}

/** A flat record (form or CSV row) → AssetInput. */
function inputOf(src) {
  const g = (k) => (src instanceof FormData ? src.get(k) : src[k]);
  const s = (k) => { const v = g(k); return v === null || v === undefined || String(v).trim() === '' ? undefined : String(v).trim(); };
  const n = (k) => (s(k) === undefined ? undefined : Number(s(k)));
  const attributes = { lat: n('lat'), lng: n('lng'), address: s('address'), country: s('country'), monitoring_radius_km: n('monitoring_radius_km') };
  const out = { asset_id: s('asset_id'), name: s('name'), type: s('type'), status: s('status'), role: s('role'), attributes };
  return JSON.parse(JSON.stringify(out));
}

/** Rows of a CSV (RFC 4180 quoting) or a JSON file, as AssetInputs. */
function parseFile(name, text) {
  if (/\.json$/i.test(name) || /^\s*[[{]/.test(text)) {
    const v = JSON.parse(text);
    const list = Array.isArray(v) ? v : v.assets;
    if (!Array.isArray(list)) throw new Error('expected an array of assets or {"assets": [...]}');
    return list.map((a) => (a.attributes ? a : inputOf(a)));
  }
  const rows = csv(text).filter((r) => r.some((c) => c.trim() !== ''));
  if (!rows.length) throw new Error('the file is empty');
  const head = rows[0].map((c) => c.trim());
  const unknown = head.filter((c) => !COLUMNS.includes(c));
  if (unknown.length) throw new Error(`unknown column(s): ${unknown.join(', ')}`);
  return rows.slice(1).map((r) => inputOf(Object.fromEntries(head.map((k, i) => [k, r[i]]))));
}

function csv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); rows.push(row); row = []; cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

/** The problems the server would refuse, found before sending. */
function check(a) {
  const p = [];
  if (!a.asset_id) p.push('asset_id is required');
  if (!a.name) p.push('name is required');
  if (!['facility', 'residence'].includes(a.type)) p.push('type must be facility or residence');
  if (a.status && !['active', 'archived'].includes(a.status)) p.push('status must be active or archived');
  const at = a.attributes || {};
  if (at.lat !== undefined && !(at.lat >= -90 && at.lat <= 90)) p.push('lat must be a number from -90 to 90');
  if (at.lng !== undefined && !(at.lng >= -180 && at.lng <= 180)) p.push('lng must be a number from -180 to 180');
  if (at.monitoring_radius_km !== undefined && !(at.monitoring_radius_km > 0 && at.monitoring_radius_km <= 1000)) p.push('monitoring_radius_km must be above 0 and at most 1000');
  return p;
}
