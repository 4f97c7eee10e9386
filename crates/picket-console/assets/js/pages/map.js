// The map: country outlines shipped with Picket (no tile server), the event tiles of
// /v1/events/tiles (clusters split as you zoom), a heatmap toggle, the tenant's assets with
// their monitoring radii, active threats by severity, and the at-point list on click.
import { key, get, withQuery } from '../api.js';
import { h, fill, errorBox, empty, sev, label, check, toast } from '../ui.js';
import { route, setParams } from '../main.js';

const FILTERS = ['date_from', 'date_to', 'event_category', 'event_type', 'location_country', 'keyword'];
const CATEGORIES = ['armed_conflict', 'crime_violence', 'civil_unrest', 'terrorism', 'transport',
  'infrastructure', 'fire_hazard', 'weather', 'geological', 'health', 'cyber_attack'];

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(s);
  });
}

let outlines;
/** Natural Earth 1:110m outlines: one ring a line, `o` outer or `h` hole, tenths of a degree. */
async function countries() {
  if (outlines) return outlines;
  const text = await (await fetch('/assets/countries-110m.rings')).text();
  const polygons = [];
  for (const line of text.split('\n')) {
    const [kind, ...pairs] = line.trim().split(' ');
    if (!pairs.length) continue;
    const ring = pairs.map((p) => p.split(',').map((n) => Number(n) / 10));
    if (kind === 'h' && polygons.length) polygons[polygons.length - 1].push(ring);
    else polygons.push([ring]);
  }
  outlines = { type: 'Feature', properties: {}, geometry: { type: 'MultiPolygon', coordinates: polygons } };
  return outlines;
}

function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

function severityColor(prop) {
  return ['match', prop,
    'critical', css('--sev-critical'), 'high', css('--sev-high'), 'medium', css('--sev-medium'),
    'low', css('--sev-low'), css('--sev-negligible')];
}

/** A circle of `km` around [lng, lat] as a polygon ring. */
function circle([lng, lat], km, steps = 64) {
  const ring = [];
  const dLat = km / 111.32;
  const dLng = km / (111.32 * Math.max(Math.cos((lat * Math.PI) / 180), 0.01));
  for (let i = 0; i <= steps; i++) {
    const a = (i / steps) * 2 * Math.PI;
    ring.push([lng + dLng * Math.cos(a), lat + dLat * Math.sin(a)]);
  }
  return ring;
}

function tilesUrl(filters) {
  return `${location.origin}${withQuery('/v1/events/tiles/{z}/{x}/{y}.mvt', filters)}`
    .replace('%7Bz%7D', '{z}').replace('%7Bx%7D', '{x}').replace('%7By%7D', '{y}');
}

export async function render(main) {
  const params = route().params;
  const filters = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) || '']));
  const mapEl = h('div', { id: 'map', role: 'region', 'aria-label': 'Map of events, assets and threats', 'data-ready': 'false' });
  const atPoint = h('div', { id: 'at-point', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Click an event on the map to list the events at that point. Click a cluster to zoom in.'));
  const status = h('p', { class: 'muted', id: 'map-status' }, 'Loading the map…');
  const form = h('form', { class: 'panel', 'aria-label': 'Event filters' },
    h('h2', {}, 'Event filters'),
    h('div', { class: 'bar' },
      label('From', h('input', { type: 'date', name: 'date_from', value: filters.date_from })),
      label('To', h('input', { type: 'date', name: 'date_to', value: filters.date_to }))),
    h('div', { class: 'bar' },
      label('Category', h('select', { name: 'event_category' }, h('option', { value: '' }, 'any'),
        CATEGORIES.map((c) => h('option', { value: c, selected: c === filters.event_category ? true : undefined }, c)))),
      label('Type', h('input', { name: 'event_type', value: filters.event_type, size: 10 }))),
    h('div', { class: 'bar' },
      label('Country (ISO-2)', h('input', { name: 'location_country', value: filters.location_country, size: 4, maxlength: 2 })),
      label('Keyword', h('input', { name: 'keyword', value: filters.keyword, size: 12 }))),
    h('div', { class: 'bar' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply'),
      h('button', { type: 'reset' }, 'Clear')));
  const layers = h('fieldset', { class: 'panel' }, h('legend', {}, 'Layers'),
    check('Events', { id: 'layer-events', checked: true }),
    check('Heatmap', { id: 'layer-heatmap' }),
    check('Assets and radii', { id: 'layer-assets', checked: true }),
    check('Active threats', { id: 'layer-threats', checked: true }),
    h('div', { class: 'legend' }, ['critical', 'high', 'medium', 'low', 'negligible'].map((s) => h('span', {}, h('i', { class: `l-${s}` }), s))));
  fill(main, h('div', { class: 'map-page' }, mapEl,
    h('aside', { class: 'side', 'aria-label': 'Map controls' }, status, layers, form, h('section', { class: 'panel' }, h('h2', {}, 'At this point'), atPoint))));

  try {
    if (!window.maplibregl) await loadScript('/assets/vendor/maplibre-gl-csp.js');
  } catch (e) {
    fill(status, errorBox(e));
    return;
  }
  const maplibregl = window.maplibregl;
  maplibregl.setWorkerUrl('/assets/vendor/maplibre-gl-csp-worker.js');
  const started = performance.now();
  const land = await countries();
  const map = new maplibregl.Map({
    container: mapEl,
    center: [10, 20],
    zoom: 1,
    attributionControl: false,
    // The key travels in a header on every request of ours, never in a tile URL.
    transformRequest: (url) => (url.startsWith(`${location.origin}/v1/`)
      ? { url, headers: { 'X-API-Key': key() } } : { url }),
    style: {
      version: 8,
      sources: {
        countries: { type: 'geojson', data: land },
        events: { type: 'vector', tiles: [tilesUrl(filters)], maxzoom: 16 },
        heat: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
        assets: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
        radii: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
        threats: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
      },
      layers: [
        { id: 'sea', type: 'background', paint: { 'background-color': css('--sea') } },
        { id: 'land', type: 'fill', source: 'countries', paint: { 'fill-color': css('--land') } },
        { id: 'borders', type: 'line', source: 'countries', paint: { 'line-color': css('--border'), 'line-width': 0.6 } },
        { id: 'heatmap', type: 'heatmap', source: 'heat', layout: { visibility: 'none' },
          paint: { 'heatmap-weight': ['+', 0.3, ['*', 0.35, ['get', 'w']]], 'heatmap-radius': 18, 'heatmap-opacity': 0.8 } },
        { id: 'radii-fill', type: 'fill', source: 'radii', paint: { 'fill-color': css('--accent'), 'fill-opacity': 0.08 } },
        { id: 'radii-line', type: 'line', source: 'radii', paint: { 'line-color': css('--accent'), 'line-width': 1 } },
        { id: 'clusters', type: 'circle', source: 'events', 'source-layer': 'events', filter: ['has', 'point_count'],
          paint: {
            'circle-color': severityColor(['get', 'severity_max']), 'circle-opacity': 0.75,
            'circle-radius': ['interpolate', ['linear'], ['sqrt', ['get', 'point_count']], 1, 5, 30, 22, 300, 40],
            'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1,
          } },
        { id: 'points', type: 'circle', source: 'events', 'source-layer': 'events', filter: ['!', ['has', 'point_count']],
          paint: { 'circle-color': severityColor(['get', 'severity']), 'circle-radius': 4, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 0.7 } },
        { id: 'threats', type: 'circle', source: 'threats',
          paint: { 'circle-radius': 8, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-width': 3, 'circle-stroke-color': severityColor(['get', 'severity']) } },
        { id: 'assets', type: 'circle', source: 'assets',
          paint: { 'circle-radius': 6, 'circle-color': css('--accent'), 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 } },
      ],
    },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
  map.addControl(new maplibregl.ScaleControl(), 'bottom-left');
  map.keyboard.enable();

  // State a reader (or a test) can see: readiness and what is drawn.
  let first = true;
  map.on('idle', () => {
    mapEl.dataset.clusters = String(map.queryRenderedFeatures({ layers: ['clusters'] }).length);
    mapEl.dataset.points = String(map.queryRenderedFeatures({ layers: ['points'] }).length);
    mapEl.dataset.zoom = map.getZoom().toFixed(1);
    if (first) {
      first = false;
      mapEl.dataset.ready = 'true';
      performance.mark('picket-map-interactive');
      fill(status, `Map ready in ${Math.round(performance.now() - started)} ms.`);
    }
  });
  map.on('error', (e) => {
    const msg = e && e.error && e.error.message;
    if (msg) fill(status, errorBox({ message: `Map: ${msg}` }));
  });

  const setVisible = (ids, on) => ids.forEach((id) => map.getLayer(id) && map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none'));
  const loadHeat = async () => {
    const r = await get('/v1/events/heatmap-points', active());
    map.getSource('heat').setData({ type: 'FeatureCollection', features: r.points.map(([lng, lat, w]) => ({ type: 'Feature', properties: { w }, geometry: { type: 'Point', coordinates: [lng, lat] } })) });
  };
  const active = () => Object.fromEntries(FILTERS.map((f) => [f, form.elements[f].value.trim()]).filter(([, v]) => v));
  const apply = () => {
    const f = active();
    setParams(f);
    map.getSource('events').setTiles([tilesUrl(f)]);
    if (document.getElementById('layer-heatmap').checked) loadHeat().catch((e) => toast(e.message, true));
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); apply(); });
  form.addEventListener('reset', () => setTimeout(apply, 0));
  document.getElementById('layer-events').addEventListener('change', (ev) => setVisible(['clusters', 'points'], ev.target.checked));
  document.getElementById('layer-assets').addEventListener('change', (ev) => setVisible(['assets', 'radii-fill', 'radii-line'], ev.target.checked));
  document.getElementById('layer-threats').addEventListener('change', (ev) => setVisible(['threats'], ev.target.checked));
  document.getElementById('layer-heatmap').addEventListener('change', async (ev) => {
    setVisible(['heatmap'], ev.target.checked);
    if (ev.target.checked) await loadHeat().catch((e) => toast(e.message, true));
  });
  window.addEventListener('picket:theme', () => {
    map.setPaintProperty('sea', 'background-color', css('--sea'));
    map.setPaintProperty('land', 'fill-color', css('--land'));
    map.setPaintProperty('borders', 'line-color', css('--border'));
  });

  map.on('load', () => {
    // Assets and threats need their own permissions; without them the layer stays empty.
    get('/v1/assets').then((r) => {
      const placed = r.assets.filter((a) => a.attributes && Number.isFinite(a.attributes.lat) && Number.isFinite(a.attributes.lng));
      map.getSource('assets').setData({ type: 'FeatureCollection', features: placed.map((a) => ({ type: 'Feature', properties: { name: a.name, asset_id: a.asset_id }, geometry: { type: 'Point', coordinates: [a.attributes.lng, a.attributes.lat] } })) });
      map.getSource('radii').setData({ type: 'FeatureCollection', features: placed.filter((a) => a.attributes.monitoring_radius_km > 0).map((a) => ({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [circle([a.attributes.lng, a.attributes.lat], a.attributes.monitoring_radius_km)] } })) });
    }).catch(() => {});
    get('/v1/threats', { status: 'active', limit: 1000 }).then((r) => {
      map.getSource('threats').setData({ type: 'FeatureCollection', features: r.threats.filter((t) => t.coordinates).map((t) => ({ type: 'Feature', properties: { id: t.id, title: t.title, severity: t.severity }, geometry: { type: 'Point', coordinates: [t.coordinates.lng, t.coordinates.lat] } })) });
    }).catch(() => {});
  });

  const popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false });
  for (const layer of ['points', 'clusters', 'threats', 'assets']) {
    map.on('mouseenter', layer, (e) => {
      map.getCanvas().style.cursor = 'pointer';
      const p = e.features[0].properties;
      const text = layer === 'clusters' ? `${p.point_count} events, up to ${p.severity_max}`
        : layer === 'assets' ? `Asset: ${p.name}` : `${p.title} (${p.severity})`;
      popup.setLngLat(e.lngLat).setDOMContent(h('span', {}, text)).addTo(map);
    });
    map.on('mouseleave', layer, () => { map.getCanvas().style.cursor = ''; popup.remove(); });
  }
  map.on('click', 'clusters', (e) => map.easeTo({ center: e.features[0].geometry.coordinates, zoom: map.getZoom() + 2 }));
  map.on('click', 'threats', (e) => { location.hash = `#/threats/${e.features[0].properties.id}`; });
  map.on('click', 'points', async (e) => {
    const [lng, lat] = e.features[0].geometry.coordinates;
    fill(atPoint, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const r = await get('/v1/events/at-point', { lat: lat.toFixed(6), lng: lng.toFixed(6), limit: 50 });
      fill(atPoint, r.events.length
        ? [h('ul', { id: 'at-point-list' }, r.events.map((ev) => h('li', {}, sev(ev.severity), ' ', h('strong', {}, ev.title), h('br'),
          h('span', { class: 'muted' }, `${ev.event_category} · ${ev.event_date} · ${ev.location || ev.location_country || ''}`)))),
        r.total > r.events.length ? h('p', { class: 'muted' }, `${r.total} in all; the 50 newest shown.`) : null]
        : empty('No events within 100 m of this point.'));
    } catch (err) {
      fill(atPoint, errorBox(err));
    }
  });
}
