// The network surface (/api/v1): network and server alerts with the documented search, capture
// download, devices, networks, services and their authorization, data export and deletion,
// and About with schema health. Times here are the server's own (its configured zone).
import { get, api, download, perms } from '../api.js';
import { h, fill, errorBox, empty, label, select, table, busy, toast, tabs, dialog, check } from '../ui.js';
import { serverTime, localToServer } from '../time.js';

const SECTIONS = [
  ['alerts', 'Network alerts', (p) => p.network_alerts],
  ['server-alerts', 'Server alerts', (p) => p.network_alerts],
  ['devices', 'Devices', (p) => p.devices],
  ['networks', 'Networks', (p) => p.networks],
  ['services', 'Services', (p) => p.devices],
  ['data', 'Data', (p) => p.data],
  ['about', 'About', () => true],
];
const LEVELS = [[10, 'low (10)'], [20, 'medium (20)'], [30, 'high (30)']];
const DATASETS = [['network_alerts', 'Network alerts'], ['syslog_alerts', 'Server alerts'], ['dns_metadata', 'DNS metadata'],
  ['tcp_metadata', 'TCP metadata'], ['dhcp_metadata', 'DHCP metadata'], ['http_metadata', 'HTTP metadata']];

export async function render(main, r) {
  const p = perms();
  const allowed = SECTIONS.filter(([, , ok]) => ok(p));
  const sub = r.parts[1] || allowed[0][0];
  const body = h('div');
  fill(main, h('h1', {}, 'Network'), tabs(allowed.map(([k, t]) => [`#/network/${k}`, t]), `#/network/${sub}`), body);
  const section = SECTIONS.find(([k]) => k === sub);
  if (!section) { fill(body, errorBox({ message: 'No such section.' })); return; }
  if (!section[2](p)) { fill(body, errorBox({ message: `Not allowed: your key's permissions do not include ${section[1].toLowerCase()}.` })); return; }
  const views = { alerts: networkAlerts, 'server-alerts': serverAlerts, devices, networks, services, data, about };
  await views[sub](body);
}

/** "a, b" → ['a', 'b']; the UI's way of entering several values (the API takes arrays). */
const many = (v) => (v || '').split(',').map((x) => x.trim()).filter(Boolean);
const ints = (v) => many(v).map(Number).filter(Number.isFinite);

function pages(res, go) {
  return h('div', { class: 'pager' },
    h('button', { type: 'button', disabled: res.page <= 1 ? true : undefined, onclick: () => go(res.page - 1) }, 'Previous'),
    h('span', { class: 'muted' }, `page ${res.total_pages ? res.page : 0} of ${res.total_pages} · ${res.total_rows} rows`),
    h('button', { type: 'button', disabled: res.page >= res.total_pages ? true : undefined, onclick: () => go(res.page + 1) }, 'Next'));
}

/** The From and To inputs of a time-bounded form. */
function rangeInputs() {
  return [
    label('From', h('input', { type: 'datetime-local', name: 'from' })),
    label('To', h('input', { type: 'datetime-local', name: 'to' })),
  ];
}

/** The `from` / `to` filters of a form made with rangeInputs, in the server's time. */
function rangeFilters(fd) {
  const f = {};
  if (fd.get('from')) f.from = localToServer(fd.get('from'));
  if (fd.get('to')) f.to = localToServer(fd.get('to'));
  return f;
}

function levelBoxes() {
  return h('fieldset', { class: 'bar' }, h('legend', {}, 'Level'), LEVELS.map(([v, t]) => check(t, { name: 'level', value: v })));
}

async function networkAlerts(body) {
  const form = h('form', { class: 'panel', 'aria-label': 'Network alert search' },
    h('div', { class: 'bar' },
      rangeInputs(),
      label('Types (comma-separated)', h('input', { name: 'type', size: 14 })),
      label('Type mode', select('type_mode', [['1', 'only these types'], ['2', 'all but these types']], '1')),
      levelBoxes()),
    h('div', { class: 'bar' },
      label('Source (IP, MAC or hostname)', h('input', { name: 'source', size: 16 })),
      label('Destination', h('input', { name: 'destination', size: 16 })),
      label('Destination port', h('input', { name: 'destination_port', size: 6 })),
      label('Search', h('input', { name: 'search', size: 14 })),
      label('One row per', select('unique', [['', '(every row)'], ['source', 'source'], ['destination', 'destination'], ['destinationport', 'destination and port'], ['pair', 'source–destination pair']], '')),
      label('Sort', select('sort', ['timestamp', 'level', 'type', 'source', 'destination', 'dst_port', 'subject'], 'timestamp')),
      label('Order', select('order', ['desc', 'asc'], 'desc')),
      h('button', { type: 'submit', class: 'primary' }, 'Search')));
  const out = h('div', { 'aria-live': 'polite' });
  fill(body, form, out);
  const canDelete = true;
  let page = 1;
  const load = async () => {
    const fd = new FormData(form);
    const filters = rangeFilters(fd);
    if (many(fd.get('type')).length) { filters.type = many(fd.get('type')); filters.type_mode = Number(fd.get('type_mode')); }
    if (fd.getAll('level').length) filters.level = fd.getAll('level').map(Number);
    for (const k of ['source', 'destination', 'search']) if (many(fd.get(k)).length) filters[k] = many(fd.get(k));
    if (ints(fd.get('destination_port')).length) filters.destination_port = ints(fd.get('destination_port'));
    if (fd.get('unique')) filters.unique = fd.get('unique');
    try {
      const res = await api('POST', '/api/v1/networkalerts/search', { body: { filters, page, page_size: 50, sort: { field: fd.get('sort'), order: fd.get('order') } } });
      fill(out, res.network_alerts.length ? [table([
        ['Time', (a) => serverTime(a.timestamp)],
        ['Level', (a) => String(a.level)],
        ['Type', (a) => a.type],
        ['Source', (a) => `${a.src_device_name || a.src_hostname || a.src_ip}:${a.src_port}`],
        ['Destination', (a) => `${a.dst_device_name || a.dst_hostname || a.dst_ip}:${a.dst_port}`],
        ['Subject', (a) => [h('strong', {}, a.subject), h('br'), h('span', { class: 'muted' }, a.message)]],
        ['Sensor', (a) => a.agent_name],
        ['', (a) => {
          const parts = [];
          if (a.pcap_id !== null && a.pcap_id !== undefined) {
            const b = h('button', { type: 'button' }, 'Capture');
            b.addEventListener('click', () => busy(b, () => download('GET', `/api/v1/networkalerts/${a.id}/pcap`, { filename: `alert-${a.id}.pcap` }), 'Downloading…'));
            parts.push(b, ' ');
          }
          if (canDelete) {
            const d = h('button', { type: 'button', class: 'danger' }, 'Delete');
            d.addEventListener('click', () => busy(d, async () => { await api('DELETE', `/api/v1/networkalerts/${a.id}`); toast('Deleted.'); await load(); }));
            parts.push(d);
          }
          return parts;
        }],
      ], res.network_alerts, { idOf: (a) => a.id }), pages(res, (n) => { page = n; load(); })]
        : empty('No network alerts match.'));
    } catch (e) { fill(out, errorBox(e)); }
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); page = 1; load(); });
  await load();
}

async function serverAlerts(body) {
  const form = h('form', { class: 'panel', 'aria-label': 'Server alert search' },
    h('div', { class: 'bar' },
      rangeInputs(),
      label('Hostnames', h('input', { name: 'hostname', size: 14 })),
      label('Types', h('input', { name: 'type', size: 10 })),
      label('Title', h('input', { name: 'title', size: 14 })),
      label('Log line contains', h('input', { name: 'search', size: 16 })),
      levelBoxes(),
      h('button', { type: 'submit', class: 'primary' }, 'Search')));
  const out = h('div', { 'aria-live': 'polite' });
  fill(body, form, out);
  let page = 1;
  const load = async () => {
    const fd = new FormData(form);
    const filters = rangeFilters(fd);
    for (const k of ['hostname', 'type', 'title', 'search']) if (many(fd.get(k)).length) filters[k] = many(fd.get(k));
    if (fd.getAll('level').length) filters.level = fd.getAll('level').map(Number);
    try {
      const res = await api('POST', '/api/v1/serveralerts/search', { body: { filters, page, page_size: 50 } });
      fill(out, res.server_alerts.length ? [table([
        ['Time', (a) => serverTime(a.timestamp)], ['Level', (a) => String(a.level)], ['Host', (a) => a.hostname],
        ['Type', (a) => a.type], ['Title', (a) => a.title], ['Log line', (a) => h('code', {}, a.line)],
        ['', (a) => {
          const d = h('button', { type: 'button', class: 'danger' }, 'Delete');
          d.addEventListener('click', () => busy(d, async () => { await api('DELETE', `/api/v1/serveralerts/${a.id}`); await load(); }));
          return d;
        }],
      ], res.server_alerts), pages(res, (n) => { page = n; load(); })] : empty('No server alerts match.'));
    } catch (e) { fill(out, errorBox(e)); }
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); page = 1; load(); });
  await load();
}

async function devices(body) {
  const form = h('form', { class: 'panel bar', 'aria-label': 'Device search' },
    label('IP', h('input', { name: 'ip', size: 12 })), label('MAC', h('input', { name: 'mac', size: 14 })),
    label('Hostname', h('input', { name: 'hostname', size: 12 })), label('Name', h('input', { name: 'friendly_name', size: 12 })),
    label('Vendor', h('input', { name: 'vendor', size: 12 })),
    h('button', { type: 'submit', class: 'primary' }, 'Search'));
  const out = h('div', { 'aria-live': 'polite' });
  fill(body, form, out);
  let page = 1;
  const load = async () => {
    const fd = new FormData(form);
    const filters = {};
    for (const k of ['ip', 'mac', 'hostname', 'friendly_name', 'vendor']) if (many(fd.get(k)).length) filters[k] = many(fd.get(k));
    try {
      const res = await api('POST', '/api/v1/devices/search', { body: { filters, page, page_size: 100 } });
      fill(out, res.devices.length ? [table([
        ['Name', (d) => d.friendly_name || h('span', { class: 'muted' }, '—')], ['Hostname', (d) => d.hostname],
        ['IP', (d) => d.last_ip], ['MAC', (d) => d.mac], ['Vendor', (d) => d.vendor], ['Network', (d) => d.network],
        ['Gateway', (d) => (d.is_gateway ? 'yes' : '')], ['Last seen', (d) => serverTime(d.last_seen)],
        ['', (d) => {
          const b = h('button', { type: 'button' }, 'Rename…');
          b.addEventListener('click', async () => {
            const data = await dialog(`Rename ${d.hostname || d.mac}`, [
              label('Friendly name', h('input', { name: 'friendly_name', value: d.friendly_name })),
              label('Hostname', h('input', { name: 'hostname', value: d.hostname }))], 'Save');
            if (data) await busy(b, async () => { await api('PATCH', `/api/v1/devices/${d.id}`, { body: { friendly_name: data.get('friendly_name'), hostname: data.get('hostname') } }); toast('Saved.'); await load(); });
          });
          return b;
        }],
      ], res.devices), pages(res, (n) => { page = n; load(); })] : empty('No devices yet; sensors report them as they see traffic.'));
    } catch (e) { fill(out, errorBox(e)); }
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); page = 1; load(); });
  await load();
}

function networkFields(n = {}) {
  return [
    label('Name', h('input', { name: 'name', required: true, value: n.name || '' })),
    label('CIDR', h('input', { name: 'cidr', required: true, value: n.cidr || '', placeholder: '10.0.0.0/24' })),
    label('Gateway IP', h('input', { name: 'gateway_ip', value: n.gateway_ip || '' })),
    label('Gateway MAC', h('input', { name: 'gateway_mac', value: n.gateway_mac || '' })),
    label('New-device alert', select('alert', [['0', 'none'], ...LEVELS.map(([v, t]) => [String(v), t])], String(n.alert ?? 0))),
  ];
}
const networkBody = (fd) => ({ name: fd.get('name'), cidr: fd.get('cidr'), gateway_ip: fd.get('gateway_ip'), gateway_mac: fd.get('gateway_mac'), alert: Number(fd.get('alert')) });

async function networks(body) {
  const add = h('button', { type: 'button', class: 'primary' }, 'Add network…');
  const out = h('div', { 'aria-live': 'polite' });
  fill(body, h('div', { class: 'bar' }, add), out);
  const load = async () => {
    try {
      const res = await get('/api/v1/networks');
      fill(out, res.networks.length ? table([
        ['Name', (n) => n.name], ['CIDR', (n) => n.cidr], ['Gateway', (n) => [n.gateway_ip, ' ', n.gateway_mac]], ['Alert', (n) => String(n.alert)],
        ['', (n) => {
          const e = h('button', { type: 'button' }, 'Edit…');
          e.addEventListener('click', async () => {
            const fd = await dialog(`Edit ${n.name}`, networkFields(n), 'Save');
            if (fd) await busy(e, async () => { await api('PATCH', `/api/v1/networks/${n.id}`, { body: networkBody(fd) }); await load(); });
          });
          const d = h('button', { type: 'button', class: 'danger' }, 'Delete');
          d.addEventListener('click', async () => {
            const ok = await dialog(`Delete network ${n.name}?`, [h('p', {}, 'Its allowed services go with it; devices stay.')], 'Delete');
            if (ok) await busy(d, async () => { await api('DELETE', `/api/v1/networks/${n.id}`); await load(); });
          });
          return [e, ' ', d];
        }],
      ], res.networks) : empty('No networks. Add the LANs your sensors watch.'));
    } catch (e) { fill(out, errorBox(e)); }
  };
  add.addEventListener('click', async () => {
    const fd = await dialog('New network', networkFields(), 'Create');
    if (fd) await busy(add, async () => { await api('POST', '/api/v1/networks', { body: networkBody(fd) }); toast('Network created.'); await load(); });
  });
  await load();
}

async function services(body) {
  const groups = h('div', { 'aria-live': 'polite' });
  const allowed = h('div');
  const rules = h('div');
  const authForm = h('form', { class: 'bar', 'aria-label': 'Authorize a service' },
    label('IP, CIDR or *', h('input', { name: 'service_ip', required: true, size: 14 })),
    label('Port', h('input', { name: 'service_port', type: 'number', min: 0, max: 65535, required: true })),
    label('Protocol', select('proto', ['tcp', 'udp'], 'tcp')),
    label('Name', h('input', { name: 'name', size: 12 })),
    h('button', { type: 'submit', class: 'primary' }, 'Authorize'));
  const ruleForm = h('form', { class: 'bar', 'aria-label': 'New exclude rule' },
    label('IP or CIDR', h('input', { name: 'ip', required: true, size: 14 })),
    label('Port from', h('input', { name: 'port_from', type: 'number', min: 0, max: 65535 })),
    label('Port to', h('input', { name: 'port_to', type: 'number', min: 0, max: 65535 })),
    label('Protocol', select('proto', [['', 'both'], ['tcp', 'tcp'], ['udp', 'udp']], '')),
    label('Comment', h('input', { name: 'comment', size: 14 })),
    h('button', { type: 'submit' }, 'Add exclude rule'));
  fill(body,
    h('section', {}, h('h2', {}, 'Discovered services'), groups),
    h('section', { class: 'panel' }, h('h2', {}, 'Allowed services'), authForm, allowed),
    h('section', { class: 'panel' }, h('h2', {}, 'Exclude rules'), h('p', { class: 'muted' }, 'A port an exclude rule matches is never authorized.'), ruleForm, rules));
  const port = (p) => {
    const b = h('button', { type: 'button', class: p.authorized ? '' : 'primary', 'data-service-id': p.id, disabled: p.authorized ? true : undefined }, p.authorized ? `${p.port} ✓` : `${p.port}: authorize`);
    b.setAttribute('aria-label', p.authorized ? `${p.proto} ${p.port} authorized` : `Authorize ${p.proto} port ${p.port}`);
    if (!p.authorized) b.addEventListener('click', () => busy(b, async () => { await api('PATCH', `/api/v1/services/${p.id}/authorize`); toast(`Port ${p.port} authorized.`); await load(); }));
    return [b, ' '];
  };
  const load = async () => {
    try {
      const [s, a, x] = await Promise.all([get('/api/v1/services'), get('/api/v1/services/allowed'), get('/api/v1/services/exclude-rules')]);
      fill(groups, s.services.length ? table([
        ['Service IP', (g) => g.service_ip], ['Name', (g) => g.name], ['Authorized', (g) => (g.authorized ? 'yes' : 'no')],
        ['TCP', (g) => g.tcp_ports.map(port)], ['UDP', (g) => g.udp_ports.map(port)],
        ['Last seen', (g) => serverTime(g.last_seen)],
      ], s.services, { idOf: (g) => g.service_ip }) : empty('No services discovered yet.'));
      fill(allowed, a.allowed_services.length ? table([
        ['IP', (e) => e.service_ip], ['Port', (e) => String(e.service_port)], ['Proto', (e) => e.proto], ['Name', (e) => e.name],
        ['', (e) => { const d = h('button', { type: 'button', class: 'danger' }, 'Remove'); d.addEventListener('click', () => busy(d, async () => { await api('DELETE', `/api/v1/services/allowed/${e.id}`); await load(); })); return d; }],
      ], a.allowed_services) : empty('Nothing authorized yet.'));
      fill(rules, x.exclude_rules.length ? table([
        ['IP', (e) => e.ip], ['Ports', (e) => (e.port_from === null ? 'all' : `${e.port_from}–${e.port_to ?? e.port_from}`)], ['Proto', (e) => e.proto || 'both'], ['Comment', (e) => e.comment],
        ['', (e) => { const d = h('button', { type: 'button', class: 'danger' }, 'Remove'); d.addEventListener('click', () => busy(d, async () => { await api('DELETE', `/api/v1/services/exclude-rules/${e.id}`); await load(); })); return d; }],
      ], x.exclude_rules) : empty('No exclude rules.'));
    } catch (e) { fill(groups, errorBox(e)); }
  };
  authForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData(authForm);
    try {
      await api('POST', '/api/v1/services/authorize', { body: { service_ip: fd.get('service_ip'), service_port: Number(fd.get('service_port')), proto: fd.get('proto'), name: fd.get('name') || undefined } });
      authForm.reset();
      await load();
    } catch (e) { toast(e.message, true); }
  });
  ruleForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData(ruleForm);
    const num = (k) => (fd.get(k) ? Number(fd.get(k)) : null);
    try {
      await api('POST', '/api/v1/services/exclude-rules', { body: { ip: fd.get('ip'), port_from: num('port_from'), port_to: num('port_to'), proto: fd.get('proto') || null, comment: fd.get('comment') } });
      ruleForm.reset();
      await load();
    } catch (e) { toast(e.message, true); }
  });
  await load();
}

async function data(body) {
  const progress = h('div', { 'aria-live': 'polite', id: 'export-progress' });
  const exportForm = h('form', { class: 'panel', 'aria-label': 'Export data' },
    h('h2', {}, 'Export'),
    h('fieldset', { class: 'bar' }, h('legend', {}, 'Datasets'), DATASETS.map(([k, t]) => check(t, { name: 'datasets', value: k }))),
    h('div', { class: 'bar' },
      rangeInputs(),
      label('Sensor (agent hash; empty: all)', h('input', { name: 'agent_id', size: 14 })),
      h('button', { type: 'submit', class: 'primary', id: 'export' }, 'Export ZIP')),
    progress);
  const delOut = h('div', { 'aria-live': 'polite' });
  const deleteForm = h('form', { class: 'panel', 'aria-label': 'Delete data' },
    h('h2', {}, 'Delete'),
    h('div', { class: 'bar' },
      label('Dataset', select('table', DATASETS, 'network_alerts')),
      rangeInputs(),
      label('Sensor', h('input', { name: 'agent_id', size: 14 }))),
    h('p', { class: 'muted' }, 'Without a time bound or sensor, every row of the dataset goes: type all to confirm that.'),
    h('div', { class: 'bar' }, label('Confirm deleting everything (type all)', h('input', { name: 'confirm', size: 6, autocomplete: 'off' })),
      h('button', { type: 'submit', class: 'danger' }, 'Delete rows')),
    delOut);
  fill(body, exportForm, deleteForm);
  const filtersOf = (fd) => {
    const f = rangeFilters(fd);
    if (fd.get('agent_id')) f.agent_id = fd.get('agent_id');
    return f;
  };
  exportForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData(exportForm);
    const datasets = fd.getAll('datasets');
    if (!datasets.length) { fill(progress, errorBox({ message: 'Choose at least one dataset.' })); return; }
    const bar = h('progress', { 'aria-label': 'Export progress' });
    const text = h('span', { class: 'muted' }, ' Preparing…');
    fill(progress, bar, text);
    const btn = document.getElementById('export');
    await busy(btn, async () => {
      try {
        const r = await download('POST', '/api/v1/data/export', {
          body: { datasets, filters: filtersOf(fd) }, filename: 'picket-export.zip',
          onProgress: (n) => { text.textContent = ` ${(n / 1024).toFixed(0)} KiB received…`; },
        });
        bar.max = 1; bar.value = 1;
        fill(progress, h('p', { id: 'export-done' }, `Saved ${r.name} (${(r.bytes / 1024).toFixed(1)} KiB).`));
      } catch (e) { fill(progress, errorBox(e)); }
    }, 'Exporting…');
  });
  deleteForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData(deleteForm);
    const filters = filtersOf(fd);
    const body = { table: fd.get('table'), filters };
    if (!Object.keys(filters).length) {
      if (fd.get('confirm') !== 'all') { fill(delOut, errorBox({ message: 'No time bound or sensor given: type all in the confirmation box to delete every row.' })); return; }
      body.all = true;
    }
    try {
      const r = await api('POST', '/api/v1/data/delete', { body });
      fill(delOut, h('p', {}, `Deleted ${r.deleted_rows} ${r.label}.`));
    } catch (e) { fill(delOut, errorBox(e)); }
  });
}

async function about(body) {
  try {
    const a = await get('/api/v1/about');
    const mb = (b) => `${(b / 1048576).toFixed(1)} MiB`;
    const db = a.database;
    const recs = ['tcp_records', 'dns_records', 'dhcp_records', 'http_records'];
    fill(body,
      h('section', { class: 'panel' }, h('dl', { class: 'fields' },
        h('dt', {}, 'Version'), h('dd', {}, a.version),
        h('dt', {}, 'Memory'), h('dd', {}, mb(a.runtime_memory_bytes)),
        h('dt', {}, 'Database size'), h('dd', {}, mb(db.size_bytes)),
        h('dt', {}, 'Network alerts'), h('dd', {}, `≈ ${db.network_alerts.row_count}`))),
      h('section', { class: 'panel' }, h('h2', {}, 'Records'), table([
        ['Dataset', (k) => k.replace('_', ' ')], ['Rows (estimate)', (k) => String(db[k].row_count)], ['Size', (k) => mb(db[k].size_bytes)],
        ['First', (k) => serverTime(db[k].first_record_at)], ['Last', (k) => serverTime(db[k].last_record_at)]], recs)),
      h('section', { class: 'panel' }, h('h2', {}, 'Threat intelligence'), table([
        ['List', (k) => k.replace(/_/g, ' ')], ['Updated', (k) => serverTime(db[k].last_updated_at)], ['Size', (k) => mb(db[k].size_bytes)]],
      ['tor_relays', 'misp_ip_records', 'misp_dns_records'])),
      h('section', { class: 'panel' }, h('h2', {}, `Schema health: ${a.schema_health.is_healthy ? 'healthy' : 'needs attention'}`),
        table([['Table', (t) => t.name], ['Healthy', (t) => (t.is_healthy ? 'yes' : 'no')],
          ['Missing indexes', (t) => t.missing_indexes.join(', ')], ['Extra indexes', (t) => t.extra_indexes.join(', ')],
          ['Wrong columns', (t) => t.wrong_index_cols.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ')]],
        a.schema_health.tables.filter((t) => !t.is_healthy).length ? a.schema_health.tables.filter((t) => !t.is_healthy) : a.schema_health.tables)));
  } catch (e) { fill(body, errorBox(e)); }
}
