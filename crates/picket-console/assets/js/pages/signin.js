// Sign-in: an API key, checked against the server, kept in this tab's sessionStorage.
import { signIn } from '../api.js';
import { h, fill, errorBox } from '../ui.js';

export function render(main) {
  document.title = 'Sign in · Picket';
  const out = h('div', { 'aria-live': 'polite' });
  const input = h('input', { type: 'password', name: 'key', id: 'api-key', required: true, autocomplete: 'off', spellcheck: 'false' });
  const button = h('button', { type: 'submit', class: 'primary', id: 'signin' }, 'Sign in');
  const form = h('form', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      // Where "time to an interactive map" starts (read by picket-bench console).
      performance.mark('picket-sign-in');
      button.disabled = true;
      fill(out, h('p', { class: 'muted' }, 'Checking the key…'));
      try {
        await signIn(input.value.trim());
        input.value = '';
        // A deep link opened before signing in is kept.
        if (!location.hash || location.hash.startsWith('#/signin')) location.hash = '#/';
        window.dispatchEvent(new Event('hashchange'));
      } catch (e) {
        fill(out, errorBox(e.status === 401 ? { message: 'That key was refused. Check it and try again.' } : e));
      } finally {
        button.disabled = false;
      }
    },
  },
  h('label', { for: 'api-key' }, 'API key'), input,
  h('p', { class: 'muted' }, 'The key printed on first start (also in picket-data/admin.key), or one issued with picket admin. It stays in this tab only and is sent as a header.'),
  button, out);
  fill(main, h('section', { class: 'signin panel' }, h('h1', {}, 'Sign in to Picket'), form));
  input.focus();
}
