// Incidents: list with filters, create, and the detail: linked threats (link, unlink), the
// activity timeline, edit and status changes (resolve, close, reopen).
import { get, api } from '../api.js';
import { h, fill, errorBox, empty, sev, label, select, table, busy, toast, dialog, pager, check } from '../ui.js';
import { when } from '../time.js';
import { setParams } from '../main.js';

export async function render(main, r) {
  if (r.parts[1]) return detail(main, r.parts[1]);
  return list(main, r.params);
}

async function list(main, params) {
  const form = h('form', { class: 'panel bar', 'aria-label': 'Incident filters' },
    label('Status', select('status', ['', 'open', 'closed', 'resolved'], params.get('status') || '')),
    label('Scope', select('scope', ['', 'investigation', 'aggregate'], params.get('scope') || '')),
    label('Asset', h('input', { name: 'asset_id', value: params.get('asset_id') || '', size: 12 })),
    h('button', { type: 'submit', class: 'primary' }, 'Apply'));
  const create = h('button', { type: 'button' }, 'New incident…');
  const out = h('div', { 'aria-live': 'polite' });
  fill(main, h('h1', {}, 'Incidents'), form, h('div', { class: 'bar' }, create), out);
  let offset = 0;
  const limit = 50;
  const load = async () => {
    const q = Object.fromEntries([...new FormData(form).entries()].filter(([, v]) => v));
    setParams(q);
    fill(out, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const res = await get('/v1/incidents', { ...q, limit, offset });
      fill(out, res.incidents.length ? [table([
        ['Title', (i) => h('a', { href: `#/incidents/${i.id}` }, i.title)],
        ['Status', (i) => h('span', { class: 'state' }, i.status)],
        ['Scope', (i) => i.scope],
        ['Threats', (i) => String(i.threat_links.length)],
        ['Started', (i) => when(i.started_at)],
        ['Updated', (i) => when(i.updated_at)],
      ], res.incidents, { idOf: (i) => i.id }), pager(res.total, offset, limit, (o) => { offset = o; load(); })]
        : empty('No incidents match. Create one here or from selected threats.'));
    } catch (e) { fill(out, errorBox(e)); }
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); offset = 0; load(); });
  create.addEventListener('click', async () => {
    const data = await dialog('New incident', [
      label('Title', h('input', { name: 'title', required: true })),
      label('Description', h('textarea', { name: 'description' })),
      label('Scope', select('scope', ['investigation', 'aggregate'], 'investigation')),
    ], 'Create');
    if (!data) return;
    await busy(create, async () => {
      const inc = await api('POST', '/v1/incidents', { body: { title: data.get('title'), description: data.get('description') || undefined, scope: data.get('scope') } });
      location.hash = `#/incidents/${inc.id}`;
    });
  });
  await load();
}

async function detail(main, id) {
  let inc;
  try { inc = await get(`/v1/incidents/${encodeURIComponent(id)}`); } catch (e) {
    fill(main, h('p', {}, h('a', { href: '#/incidents' }, '← Incidents')), errorBox(e));
    return;
  }
  const reload = () => detail(main, id);
  const patch = (btn, body, msg) => busy(btn, async () => { await api('PATCH', `/v1/incidents/${inc.id}`, { body }); toast(msg); await reload(); });
  const actions = h('div', { class: 'bar' });
  if (inc.status !== 'resolved') {
    const b = h('button', { type: 'button', class: 'primary', id: 'resolve' }, 'Resolve');
    b.addEventListener('click', () => patch(b, { status: 'resolved' }, 'Incident resolved.'));
    actions.append(b);
  }
  if (inc.status !== 'closed') {
    const b = h('button', { type: 'button' }, 'Close without resolution');
    b.addEventListener('click', () => patch(b, { status: 'closed' }, 'Incident closed.'));
    actions.append(b);
  }
  if (inc.status !== 'open') {
    const b = h('button', { type: 'button' }, 'Reopen');
    b.addEventListener('click', () => patch(b, { status: 'open' }, 'Incident reopened.'));
    actions.append(b);
  }
  const edit = h('button', { type: 'button' }, 'Edit…');
  edit.addEventListener('click', async () => {
    const data = await dialog('Edit incident', [
      label('Title', h('input', { name: 'title', required: true, value: inc.title })),
      label('Description', h('textarea', { name: 'description' }, inc.description || '')),
    ], 'Save');
    if (data) await patch(edit, { title: data.get('title'), description: data.get('description') }, 'Saved.');
  });
  const link = h('button', { type: 'button' }, 'Link threats…');
  link.addEventListener('click', async () => {
    let threats = [];
    try { threats = (await get('/v1/threats', { status: ['active', 'monitoring'], limit: 200 })).threats; } catch (e) { toast(e.message, true); return; }
    const linked = new Set(inc.threat_links.map((l) => l.threat_id));
    const candidates = threats.filter((t) => !linked.has(t.id));
    if (!candidates.length) { toast('No active threat left to link.', true); return; }
    const data = await dialog('Link threats', [h('fieldset', {}, h('legend', {}, 'Active threats'),
      candidates.map((t) => h('div', {}, check(`${t.severity} · ${t.title}`, { name: 'threat', value: t.id }))))], 'Link');
    const ids = data ? data.getAll('threat') : [];
    if (!ids.length) return;
    await busy(link, async () => { await api('POST', `/v1/incidents/${inc.id}/threats`, { body: { threat_ids: ids } }); toast(`Linked ${ids.length}.`); await reload(); });
  });
  actions.append(edit, link);

  const timeline = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const before = check('Include versions from before each link', { id: 'before-link' });
  const loadTimeline = async () => {
    try {
      const a = await get(`/v1/incidents/${inc.id}/activity`, { include_versions_before_link: before.querySelector('input').checked });
      const title = (tid) => (inc.threat_links.find((l) => l.threat_id === tid) || { threat: { title: tid } }).threat.title;
      fill(timeline, a.items.length ? h('ol', { class: 'timeline' }, a.items.map((it) => h('li', {}, when(it.at), ' ',
        h('strong', {}, it.kind.replace('_', ' ')), ' ', title(it.threat_id),
        it.kind === 'threat_version' && it.threat_version ? h('span', { class: 'muted' }, ` (v${it.threat_version.version ?? ''})`) : null)))
        : empty('No activity yet.'));
    } catch (e) { fill(timeline, errorBox(e)); }
  };
  before.addEventListener('change', loadTimeline);

  fill(main,
    h('p', {}, h('a', { href: '#/incidents' }, '← Incidents')),
    h('h1', { id: 'incident-title' }, inc.title),
    h('p', {}, 'Status: ', h('span', { class: 'state', id: 'incident-status' }, inc.status), ` · scope ${inc.scope} · started `, when(inc.started_at),
      inc.resolved_at ? [' · resolved ', when(inc.resolved_at)] : null),
    actions,
    inc.description ? h('p', {}, inc.description) : null,
    h('section', { class: 'panel' }, h('h2', {}, `Linked threats (${inc.threat_links.length})`),
      inc.threat_links.length ? table([
        ['Severity', (l) => sev(l.threat.severity)],
        ['Threat', (l) => h('a', { href: `#/threats/${l.threat_id}` }, l.threat.title)],
        ['Location', (l) => l.threat.location || ''],
        ['Observed', (l) => when(l.threat.observed_at)],
        ['Linked', (l) => when(l.added_at)],
        ['', (l) => {
          const b = h('button', { type: 'button', 'aria-label': `Unlink ${l.threat.title}` }, 'Unlink');
          b.addEventListener('click', () => busy(b, async () => { await api('DELETE', `/v1/incidents/${inc.id}/threats/${l.threat_id}`); toast('Unlinked.'); await reload(); }));
          return b;
        }],
      ], inc.threat_links) : empty('No threat linked.')),
    h('section', { class: 'panel' }, h('h2', {}, 'Timeline'), before, timeline));
  await loadTimeline();
}
