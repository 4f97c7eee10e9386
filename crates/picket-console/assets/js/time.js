// Times: /v1 sends RFC 3339 UTC; /api/v1 sends "YYYY-MM-DD HH:MM:SS" in the server's zone.
// Both are shown in the viewer's zone where the instant is known, the server's form on hover.
import { h } from './ui.js';

const fmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export const viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** A /v1 timestamp: viewer's zone, UTC (the server's zone on /v1) on hover. */
export function when(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', {}, String(iso));
  return h('time', { datetime: iso, title: `${iso} (server, UTC)` }, `${fmt.format(d)}`);
}

/** An /api/v1 timestamp: as the server wrote it, in the server's configured zone. */
export function serverTime(s) {
  if (!s) return h('span', { class: 'muted' }, '—');
  return h('time', { title: `${s} in the server's configured timezone (viewer: ${viewerZone})` }, s);
}

/** A datetime-local input value → RFC 3339 UTC, or '' when empty. */
export function localToIso(v) { return v ? new Date(v).toISOString() : ''; }

/** A datetime-local value → the /api/v1 form "YYYY-MM-DD HH:MM" (read in the server's zone). */
export function localToServer(v) { return v ? v.replace('T', ' ') : ''; }
