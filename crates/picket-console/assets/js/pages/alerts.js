// Alerts: the feed with state changes, the rule-set editor, the tenant's notification targets
// and its signed webhooks.
import { get, api } from '../api.js';
import { h, fill, errorBox, empty, sev, label, select, table, busy, toast, tabs, pager, check } from '../ui.js';
import { when } from '../time.js';

const STATES = ['new', 'seen', 'acked', 'dismissed'];
const TABS = [['#/alerts', 'Feed'], ['#/alerts/rules', 'Rules'], ['#/alerts/notifications', 'Notifications'], ['#/alerts/webhooks', 'Webhooks']];

export async function render(main, r) {
  const sub = r.parts[1] || '';
  const body = h('div');
  fill(main, h('h1', {}, 'Alerts'), tabs(TABS, sub ? `#/alerts/${sub}` : '#/alerts'), body);
  if (sub === 'rules') return rules(body);
  if (sub === 'notifications') return notifications(body);
  if (sub === 'webhooks') return webhooks(body);
  return feed(body);
}

async function feed(body) {
  const form = h('form', { class: 'panel bar', 'aria-label': 'Alert filters' },
    h('fieldset', { class: 'bar' }, h('legend', {}, 'State'), STATES.map((s) => check(s, { name: 'state', value: s }))),
    label('Severity', select('severity', ['', 'critical', 'high', 'medium', 'low', 'negligible'], '')),
    label('Rule id', h('input', { name: 'rule_id', size: 10 })),
    h('button', { type: 'submit', class: 'primary' }, 'Apply'));
  const out = h('div', { 'aria-live': 'polite' });
  fill(body, form, out);
  let offset = 0;
  const limit = 50;
  const load = async () => {
    const fd = new FormData(form);
    const q = { state: fd.getAll('state'), severity: fd.get('severity'), rule_id: fd.get('rule_id'), limit, offset };
    try {
      const res = await get('/v1/alerts', q);
      fill(out, res.alerts.length ? [table([
        ['Severity', (a) => sev(a.severity)],
        ['Alert', (a) => [h('strong', {}, a.title), h('br'), h('a', { href: `#/threats/${a.threat_id}` }, a.threat_title)]],
        ['Type', (a) => a.alert_type],
        ['Rule', (a) => a.rule_title || a.rule_id],
        ['Created', (a) => when(a.created_at)],
        ['Deliveries', (a) => (a.deliveries || []).map((d) => `${d.channel}: ${d.status}`).join(', ') || '—'],
        ['State', (a) => {
          const s = select('state', STATES, a.state, { 'aria-label': `State of ${a.title}`, class: 'alert-state' });
          s.addEventListener('change', async () => {
            s.disabled = true;
            try {
              const up = await api('PATCH', `/v1/alerts/${a.id}/state`, { body: { state: s.value } });
              toast(`Alert is now ${up.state}.`);
              a.state = up.state;
            } catch (e) { toast(e.message, true); s.value = a.state; }
            s.disabled = false;
          });
          return s;
        }],
      ], res.alerts, { idOf: (a) => a.id }), pager(res.total, offset, limit, (o) => { offset = o; load(); })]
        : empty('No alerts. Alerts appear when threats match your rules.'));
    } catch (e) { fill(out, errorBox(e)); }
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); offset = 0; load(); });
  await load();
}

const TEMPLATE = {
  id: 'high-near-assets', enabled: true, title: 'High and critical threats near assets',
  severity_threshold: ['critical', 'high'], asset_ids: null, threat_types: null, max_distance_km: null,
  mute_interval_hours: 24, email_enabled: false, sms_enabled: false, slack_enabled: false,
  user_receiver_type: 'none', external_receivers: [],
};

async function rules(body) {
  const area = h('textarea', { id: 'rules-json', 'aria-label': 'Rule set (JSON)', rows: 22, spellcheck: 'false' });
  const out = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'button', class: 'primary' }, 'Save rule set');
  const add = h('button', { type: 'button' }, 'Add a rule from a template');
  fill(body, h('p', { class: 'muted' }, 'The whole rule set, as JSON. Saving replaces it; rules left out are removed, and active threats are re-evaluated against the new set.'),
    area, h('div', { class: 'bar' }, save, add), out);
  try {
    const r = await get('/v1/alerts/rules');
    area.value = JSON.stringify(r.rules.map(({ created_at: _c, ...rest }) => rest), null, 2);
  } catch (e) { fill(out, errorBox(e)); return; }
  add.addEventListener('click', () => {
    let list;
    try { list = JSON.parse(area.value || '[]'); } catch (e) { fill(out, errorBox({ message: `Not valid JSON: ${e.message}` })); return; }
    list.push({ ...TEMPLATE, id: `rule-${list.length + 1}` });
    area.value = JSON.stringify(list, null, 2);
  });
  save.addEventListener('click', () => busy(save, async () => {
    let list;
    try { list = JSON.parse(area.value || '[]'); } catch (e) { fill(out, errorBox({ message: `Not valid JSON: ${e.message}` })); return; }
    try {
      const r = await api('PUT', '/v1/alerts/rules', { body: { rules: list } });
      fill(out, h('p', {}, `Saved ${r.rules.length} rules.`));
      toast('Rule set saved.');
    } catch (e) { fill(out, errorBox(e)); }
  }, 'Saving…'));
}

async function notifications(body) {
  const out = h('div', { 'aria-live': 'polite' });
  let s;
  try { s = await get('/v1/settings/notifications'); } catch (e) { fill(body, errorBox(e)); return; }
  const form = h('form', { class: 'panel' },
    h('div', { class: 'bar' }, label('Slack incoming-webhook URL', h('input', { name: 'slack', type: 'url', size: 50, value: s.slack_webhook_url || '' }))),
    h('div', { class: 'bar' }, label('E-mail recipients (one a line)', h('textarea', { name: 'email', rows: 4 }, s.email_recipients.join('\n')))),
    h('div', { class: 'bar' }, label('SMS recipients, E.164 (one a line)', h('textarea', { name: 'sms', rows: 3 }, s.sms_recipients.join('\n')))),
    h('button', { type: 'submit', class: 'primary' }, 'Save'), out);
  const lines = (v) => v.split('\n').map((x) => x.trim()).filter(Boolean);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    try {
      await api('PUT', '/v1/settings/notifications', { body: { slack_webhook_url: fd.get('slack') || null, email_recipients: lines(fd.get('email')), sms_recipients: lines(fd.get('sms')) } });
      fill(out, h('p', {}, 'Saved.'));
    } catch (e) { fill(out, errorBox(e)); }
  });
  fill(body, h('p', { class: 'muted' }, 'Where alerts of rules with e-mail, SMS or Slack switched on are delivered.'), form);
}

async function webhooks(body) {
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'panel bar', 'aria-label': 'New webhook' },
    label('URL', h('input', { name: 'url', type: 'url', required: true, size: 40 })),
    label('Signing secret (16+ characters)', h('input', { name: 'secret', type: 'password', required: true, minlength: 16, autocomplete: 'off' })),
    label('Events', select('event_types', ['alert.created', 'incident.opened', 'incident.updated', 'network_alert.created', 'server_alert.created'], 'alert.created', { multiple: true, size: 3 })),
    h('button', { type: 'submit', class: 'primary' }, 'Add webhook'));
  fill(body, form, out);
  const load = async () => {
    try {
      const r = await get('/v1/webhooks');
      const list = r.webhooks || r;
      fill(out, list.length ? table([
        ['URL', (w) => w.url], ['Events', (w) => w.event_types.join(', ')], ['Created', (w) => when(w.created_at)],
        ['Enabled', (w) => {
          const c = h('input', { type: 'checkbox', checked: w.enabled, 'aria-label': `Enable ${w.url}` });
          c.addEventListener('change', async () => {
            try { await api('PATCH', `/v1/webhooks/${w.id}`, { body: { enabled: c.checked } }); toast('Saved.'); } catch (e) { toast(e.message, true); c.checked = !c.checked; }
          });
          return c;
        }],
        ['', (w) => {
          const t = h('button', { type: 'button' }, 'Send test');
          t.addEventListener('click', () => busy(t, async () => { await api('POST', `/v1/webhooks/${w.id}/test`); toast('Test notice queued.'); }));
          const d = h('button', { type: 'button', class: 'danger' }, 'Delete');
          d.addEventListener('click', () => busy(d, async () => { await api('DELETE', `/v1/webhooks/${w.id}`); await load(); }));
          return [t, ' ', d];
        }],
      ], list) : empty('No webhooks. Alerts are POSTed, signed, to each webhook added here.'));
    } catch (e) { fill(out, errorBox(e)); }
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    try {
      await api('POST', '/v1/webhooks', { body: { url: fd.get('url'), secret: fd.get('secret'), event_types: fd.getAll('event_types') } });
      form.reset();
      await load();
    } catch (e) { toast(e.message, true); }
  });
  await load();
}
