// Threats: the list with every filter and sort, selection → new incident; the detail with the
// score's rationale, affected assets, versions and developments, and triage.
import { get, api } from '../api.js';
import { h, fill, errorBox, empty, sev, label, select, table, busy, toast, dialog, pager, check } from '../ui.js';
import { when, localToIso } from '../time.js';
import { route, setParams } from '../main.js';

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'negligible'];
const STATUSES = ['active', 'monitoring', 'contained', 'resolved', 'dismissed', 'ended'];
const SORTS = ['observed_at', 'risk_score', 'updated_at', 'severity'];

export async function render(main, r) {
  if (r.parts[1]) return detail(main, r.parts[1]);
  return list(main, r.params);
}

async function list(main, params) {
  const form = h('form', { class: 'panel', 'aria-label': 'Threat filters' },
    h('fieldset', { class: 'bar' }, h('legend', {}, 'Severity'),
      SEVERITIES.map((s) => check(s, { name: 'severity', value: s, checked: params.getAll('severity').includes(s) }))),
    h('fieldset', { class: 'bar' }, h('legend', {}, 'Status'),
      STATUSES.map((s) => check(s, { name: 'status', value: s, checked: params.getAll('status').includes(s) }))),
    h('div', { class: 'bar' },
      label('Threat type', h('input', { name: 'threat_type', value: params.get('threat_type') || '', size: 12 })),
      label('Asset (id or asset_id)', h('input', { name: 'asset_id', value: params.get('asset_id') || '', size: 12 })),
      label('Pinned', select('pinned', [['', 'any'], ['true', 'pinned'], ['false', 'not pinned']], params.get('pinned') || '')),
      label('Observed from', h('input', { type: 'datetime-local', name: 'observed_from', value: params.get('observed_from') || '' })),
      label('Observed to', h('input', { type: 'datetime-local', name: 'observed_to', value: params.get('observed_to') || '' })),
      label('Sort by', select('sort', SORTS.map((s) => [s, s.replace('_', ' ')]), params.get('sort') || 'observed_at')),
      label('Order', select('order', [['desc', 'descending'], ['asc', 'ascending']], params.get('order') || 'desc')),
      h('button', { type: 'submit', class: 'primary' }, 'Apply')));
  const out = h('div', { 'aria-live': 'polite' });
  const selected = new Set();
  const createBtn = h('button', { type: 'button', id: 'create-incident', disabled: true }, 'Create incident from selected');
  fill(main, h('h1', {}, 'Threats'), form, h('div', { class: 'bar' }, createBtn), out);

  const state = () => {
    const fd = new FormData(form);
    const q = {};
    for (const [k, v] of fd.entries()) {
      if (!v) continue;
      if (k === 'severity' || k === 'status') (q[k] = q[k] || []).push(v);
      else q[k] = v;
    }
    return q;
  };
  let offset = Number(params.get('offset')) || 0;
  const limit = 50;
  const load = async () => {
    const q = state();
    setParams(Object.entries({ ...q, offset }).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])));
    const query = { ...q, limit, offset };
    if (q.observed_from) query.observed_from = localToIso(q.observed_from);
    if (q.observed_to) query.observed_to = localToIso(q.observed_to);
    fill(out, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const res = await get('/v1/threats', query);
      if (!res.threats.length) { fill(out, empty('No threats match these filters.')); return; }
      fill(out, table([
        ['', (t) => h('input', { type: 'checkbox', 'aria-label': `Select ${t.title}`, checked: selected.has(t.id), onchange: (ev) => {
          if (ev.target.checked) selected.add(t.id); else selected.delete(t.id);
          createBtn.disabled = selected.size === 0;
        } })],
        ['Severity', (t) => sev(t.severity)],
        ['Title', (t) => h('a', { href: `#/threats/${t.id}` }, t.title)],
        ['Type', (t) => t.threat_type],
        ['Status', (t) => h('span', { class: 'state' }, t.status)],
        ['Risk', (t) => String(Math.round(t.risk_score))],
        ['Assets', (t) => t.affected_assets.map((a) => `${a.asset_name} (${a.distance_km.toFixed(1)} km)`).join(', ')],
        ['Observed', (t) => when(t.observed_at)],
      ], res.threats, { idOf: (t) => t.id }), pager(res.total, offset, limit, (o) => { offset = o; load(); }));
    } catch (e) {
      fill(out, errorBox(e));
    }
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); offset = 0; load(); });
  createBtn.addEventListener('click', async () => {
    const data = await dialog('New incident from the selected threats', [
      label('Title', h('input', { name: 'title', required: true, id: 'new-incident-title' })),
      label('Description', h('textarea', { name: 'description' })),
      label('Scope', select('scope', ['investigation', 'aggregate'], 'investigation')),
    ], 'Create incident');
    if (!data) return;
    await busy(createBtn, async () => {
      const inc = await api('POST', '/v1/incidents', { body: {
        title: data.get('title'), description: data.get('description') || undefined,
        scope: data.get('scope'), threat_ids: [...selected],
      } });
      toast(`Incident "${inc.title}" created with ${inc.threat_links.length} threats.`);
      location.hash = `#/incidents/${inc.id}`;
    });
  });
  await load();
}

function field(name, value) { return [h('dt', {}, name), h('dd', {}, value === null || value === undefined || value === '' ? '—' : value)]; }

async function detail(main, id) {
  fill(main, h('p', { class: 'muted' }, 'Loading…'));
  let t;
  try {
    t = await get(`/v1/threats/${encodeURIComponent(id)}`);
  } catch (e) {
    fill(main, h('p', {}, h('a', { href: '#/threats' }, '← Threats')), errorBox(e));
    return;
  }
  const actions = h('div', { class: 'bar', role: 'group', 'aria-label': 'Triage' });
  const patch = async (btn, body, msg) => busy(btn, async () => {
    await api('PATCH', `/v1/threats/${t.id}`, { body });
    toast(msg);
    await detail(main, id);
  });
  const ack = h('button', { type: 'button', id: 'acknowledge' }, 'Acknowledge');
  ack.addEventListener('click', () => patch(ack, { status: 'monitoring' }, 'Acknowledged: the threat is now monitored.'));
  const dismiss = h('button', { type: 'button', class: 'danger', id: 'dismiss' }, 'Dismiss…');
  dismiss.addEventListener('click', async () => {
    const data = await dialog('Dismiss this threat', [label('Reason (required)', h('textarea', { name: 'reason', required: true, id: 'dismiss-reason' }))], 'Dismiss');
    if (data) await patch(dismiss, { status: 'dismissed', dismissal_reason: data.get('reason') }, 'Threat dismissed.');
  });
  const pin = h('button', { type: 'button' }, t.pinned ? 'Unpin' : 'Pin');
  pin.addEventListener('click', () => patch(pin, { pinned: !t.pinned }, t.pinned ? 'Unpinned.' : 'Pinned.'));
  const statusSel = select('status', STATUSES, t.status, { 'aria-label': 'Status', id: 'threat-status' });
  const setStatus = h('button', { type: 'button' }, 'Set status');
  setStatus.addEventListener('click', async () => {
    if (statusSel.value === 'dismissed') { dismiss.click(); return; }
    await patch(setStatus, { status: statusSel.value }, `Status: ${statusSel.value}.`);
  });
  const link = h('button', { type: 'button', id: 'link-incident' }, 'Link to incident…');
  link.addEventListener('click', async () => {
    let incidents = [];
    try { incidents = (await get('/v1/incidents', { status: 'open', limit: 200 })).incidents; } catch (e) { toast(e.message, true); return; }
    if (!incidents.length) { toast('There is no open incident; create one from the threat list.', true); return; }
    const data = await dialog('Link to an open incident', [label('Incident', select('incident', incidents.map((i) => [i.id, i.title]), incidents[0].id))], 'Link');
    if (!data) return;
    await busy(link, async () => {
      await api('POST', `/v1/incidents/${data.get('incident')}/threats`, { body: { threat_ids: [t.id] } });
      toast('Linked.');
    });
  });
  actions.append(ack, dismiss, pin, statusSel, setStatus, link);

  const versions = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const developments = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  fill(main,
    h('p', {}, h('a', { href: '#/threats' }, '← Threats')),
    h('h1', { id: 'threat-title' }, sev(t.severity), ' ', t.title),
    h('p', {}, 'Status: ', h('span', { class: 'state', id: 'threat-status-text' }, t.status),
      t.dismissal_reason ? h('span', { class: 'muted' }, ` — ${t.dismissal_reason}`) : null),
    actions,
    h('div', { class: 'grid2' },
      h('section', { class: 'panel' }, h('h2', {}, 'Assessment'), h('dl', { class: 'fields' },
        field('Risk score', `${Math.round(t.risk_score)} / 100 (${t.risk_level})`),
        field('Likelihood', t.likelihood), field('Impact', t.impact_severity),
        field('Type', t.threat_type), field('Location', `${t.location || ''} ${t.location_country || ''}`),
        field('Precision', `${t.location_precision_level}${t.location_uncertainty_km ? ` ±${t.location_uncertainty_km} km` : ''}`),
        field('Observed', when(t.observed_at)), field('Expires', when(t.expires_at)),
        field('Sources', (t.sources || []).join(', ')))),
      h('section', { class: 'panel' }, h('h2', {}, 'Why this score'),
        h('p', {}, t.threat_rationale), h('h3', {}, 'Likelihood'), h('p', {}, t.likelihood_rationale),
        h('h3', {}, 'Impact'), h('p', {}, t.impact_rationale))),
    h('section', { class: 'panel' }, h('h2', {}, 'Description'), h('p', {}, t.description || '—')),
    h('section', { class: 'panel' }, h('h2', {}, 'Affected assets'),
      t.affected_assets.length ? table([['Asset', (a) => a.asset_name], ['Type', (a) => a.asset_type], ['Distance', (a) => `${a.distance_km.toFixed(1)} km`]], t.affected_assets) : empty('No asset affected.')),
    h('div', { class: 'grid2' },
      h('section', { class: 'panel' }, h('h2', {}, `Versions (${t.version_count})`), versions),
      h('section', { class: 'panel' }, h('h2', {}, `Developments (${t.development_count})`), developments)));
  get(`/v1/threats/${t.id}/versions`).then((v) => fill(versions, v.versions.length
    ? h('ol', { class: 'timeline' }, v.versions.map((x) => h('li', {}, h('strong', {}, `v${x.version} `), when(x.at),
      h('ul', {}, Object.entries(x.changes || {}).map(([k, c]) => h('li', {}, `${k}: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`))))))
    : empty('No versions.'))).catch((e) => fill(versions, errorBox(e)));
  get(`/v1/threats/${t.id}/developments`).then((d) => fill(developments, d.developments.length
    ? h('ol', { class: 'timeline' }, d.developments.map((x) => h('li', {}, when(x.at), ' ', x.title, h('span', { class: 'muted' }, ` (${x.source || ''})`))))
    : empty('No developments.'))).catch((e) => fill(developments, errorBox(e)));
}
