// Small DOM helpers. Everything is built with createElement and text nodes: no innerHTML, so
// server data can never become markup.

/** h('a', {href: '#/x', onclick: f}, 'text', child…) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function toast(message, bad = false) {
  const t = h('div', { class: bad ? 'bad' : '' }, message);
  document.getElementById('toast').append(t);
  setTimeout(() => t.remove(), bad ? 8000 : 4000);
}

export function errorBox(e) {
  return h('div', { class: 'error', role: 'alert' }, e && e.message ? e.message : String(e));
}

export function empty(text) { return h('div', { class: 'empty' }, text); }

export function sev(s) { return h('span', { class: `sev sev-${s}` }, s || '—'); }

/** A labelled control: label(text, input). */
export function label(text, control) { return h('label', {}, text, control); }

export function check(text, attrs) {
  return h('label', { class: 'check' }, h('input', { type: 'checkbox', ...attrs }), text);
}

export function select(name, options, value, attrs = {}) {
  return h('select', { name, ...attrs },
    options.map((o) => {
      const [v, t] = Array.isArray(o) ? o : [o, o === '' ? 'any' : o];
      return h('option', { value: v, selected: v === value ? true : undefined }, t);
    }));
}

/**
 * A table: columns are [header, row => cell]. Rows get `data-id` when `idOf` is given.
 */
export function table(columns, rows, { idOf, caption } = {}) {
  return h('table', {},
    caption ? h('caption', { class: 'muted' }, caption) : null,
    h('thead', {}, h('tr', {}, columns.map(([t]) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((r) => h('tr', { 'data-id': idOf ? idOf(r) : undefined },
      columns.map(([, f]) => h('td', {}, f(r)))))));
}

/** Disables a button while `work` runs, with a busy label; shows an error as a toast. */
export async function busy(button, work, busyText = 'Working…') {
  const old = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = busyText;
  try {
    return await work();
  } catch (e) {
    toast(e.message || String(e), true);
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = old;
  }
}

/**
 * A modal form. `fields` are built by the caller; resolves with the FormData on submit, or
 * null on cancel. Escape cancels (native dialog behaviour).
 */
export function dialog(title, fields, submitText = 'OK') {
  return new Promise((resolve) => {
    const form = h('form', { method: 'dialog' },
      h('h2', {}, title), fields,
      h('div', { class: 'bar' },
        h('button', { type: 'submit', class: 'primary', value: 'ok' }, submitText),
        h('button', { type: 'button', value: 'cancel', onclick: () => d.close('cancel') }, 'Cancel')));
    const d = h('dialog', { 'aria-label': title }, form);
    document.body.append(d);
    d.addEventListener('close', () => {
      const data = d.returnValue === 'ok' ? new FormData(form) : null;
      d.remove();
      resolve(data);
    });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (!form.reportValidity()) return;
      d.close('ok');
    });
    d.showModal();
    const first = form.querySelector('input, select, textarea');
    if (first) first.focus();
  });
}

/** Sub-navigation tabs: [[hash, text]]. */
export function tabs(items, current) {
  return h('nav', { class: 'tabs', 'aria-label': 'Sections' },
    items.map(([href, text]) => h('a', { href, 'aria-current': href === current ? 'page' : undefined }, text)));
}

/** A list page's pager: offset/limit with Previous/Next. */
export function pager(total, offset, limit, go) {
  const from = total ? offset + 1 : 0;
  const to = Math.min(offset + limit, total);
  return h('div', { class: 'pager' },
    h('button', { type: 'button', disabled: offset <= 0 ? true : undefined, onclick: () => go(Math.max(0, offset - limit)) }, 'Previous'),
    h('span', { class: 'muted' }, `${from}–${to} of ${total}`),
    h('button', { type: 'button', disabled: to >= total ? true : undefined, onclick: () => go(offset + limit) }, 'Next'));
}

/** Form values as a plain object; repeated names (checkbox groups) become arrays. */
export function formValues(form, multi = []) {
  const out = {};
  const fd = new FormData(form);
  for (const [k, v] of fd.entries()) {
    if (multi.includes(k)) (out[k] = out[k] || []).push(v);
    else out[k] = v;
  }
  return out;
}
