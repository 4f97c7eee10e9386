// Reports: generate (threat, incident or landscape), follow generation, list, save the HTML and
// the PDF. Files are fetched with the key in a header and saved from memory.
import { get, api, download } from '../api.js';
import { h, fill, errorBox, empty, label, select, table, busy, toast, pager } from '../ui.js';
import { when, localToIso } from '../time.js';

export async function render(main) {
  const form = h('form', { class: 'panel', 'aria-label': 'Generate a report' },
    h('h2', {}, 'Generate'),
    h('div', { class: 'bar' },
      label('Kind', select('type', ['landscape', 'threat', 'incident'], 'landscape')),
      label('Title', h('input', { name: 'title', size: 24 })),
      label('Threat id (threat reports)', h('input', { name: 'threat_id', size: 36 })),
      label('Incident id (incident reports)', h('input', { name: 'incident_id', size: 36 }))),
    h('div', { class: 'bar' },
      label('From (landscape; default: 7 days ago)', h('input', { type: 'datetime-local', name: 'from' })),
      label('To', h('input', { type: 'datetime-local', name: 'to' })),
      label('Assets (comma-separated; empty: all)', h('input', { name: 'asset_ids', size: 20 })),
      h('button', { type: 'submit', class: 'primary', id: 'generate' }, 'Generate')));
  const progress = h('div', { 'aria-live': 'polite' });
  const out = h('div', { 'aria-live': 'polite' });
  fill(main, h('h1', {}, 'Reports'), form, progress, out);
  let offset = 0;
  const limit = 50;
  const load = async () => {
    try {
      const r = await get('/v1/reports', { limit, offset });
      fill(out, r.reports.length ? [table([
        ['Title', (x) => x.title], ['Kind', (x) => x.type], ['Status', (x) => h('span', { class: 'state' }, x.status)], ['Created', (x) => when(x.created_at)],
        ['', (x) => (x.status !== 'ready' ? '' : [
          saver('HTML', `/v1/reports/${x.id}/html`, `report-${x.id}.html`), ' ',
          saver('PDF', `/v1/reports/${x.id}/pdf`, `report-${x.id}.pdf`)])],
      ], r.reports), pager(r.total, offset, limit, (o) => { offset = o; load(); })] : empty('No reports yet.'));
    } catch (e) { fill(out, errorBox(e)); }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    const body = { type: fd.get('type') };
    if (fd.get('title')) body.title = fd.get('title');
    if (body.type === 'threat') body.threat_id = fd.get('threat_id');
    if (body.type === 'incident') body.incident_id = fd.get('incident_id');
    if (body.type === 'landscape') {
      if (fd.get('from')) body.from = localToIso(fd.get('from'));
      if (fd.get('to')) body.to = localToIso(fd.get('to'));
      const ids = (fd.get('asset_ids') || '').split(',').map((s) => s.trim()).filter(Boolean);
      if (ids.length) body.asset_ids = ids;
    }
    busy(document.getElementById('generate'), async () => {
      let rep = await api('POST', '/v1/reports', { body });
      const bar = h('progress', { 'aria-label': 'Report generation' });
      fill(progress, h('p', {}, 'Generating ', h('strong', {}, rep.title), '… ', bar));
      // Generation is a background job: follow it, a bounded number of times.
      for (let i = 0; i < 120 && rep.status === 'pending'; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        rep = await get(`/v1/reports/${rep.id}`);
      }
      fill(progress, rep.status === 'ready' ? h('p', {}, `Report ready: ${rep.title}.`)
        : errorBox({ message: rep.status === 'failed' ? 'The report failed to generate.' : 'The report is still generating; it will appear in the list when ready.' }));
      toast(`Report ${rep.status}.`, rep.status === 'failed');
      await load();
    }, 'Generating…');
  });
  await load();
}

function saver(text, path, filename) {
  const b = h('button', { type: 'button' }, text);
  b.addEventListener('click', () => busy(b, () => download('GET', path, { filename }), 'Saving…'));
  return b;
}
