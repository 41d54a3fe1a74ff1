// campusguard duty console. Plain JavaScript, no build step, no external assets.
// Every piece of data is put into the page with textContent (never as HTML).
'use strict';
(function () {
  const boot = JSON.parse(document.getElementById('cg-boot').textContent);
  const M = boot.messages || {};
  const t = (k) => (k in M ? M[k] : k);
  const main = document.getElementById('main');
  const locale = boot.lang === 'zh' ? 'zh-CN' : 'en-GB';
  const tz = boot.tz || undefined;

  // ---- helpers ----
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') el.textContent = v;
      else if (k === 'class') el.className = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat()) {
      if (kid === undefined || kid === null || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }
  const dtf = new Intl.DateTimeFormat(locale, { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  const tf = new Intl.DateTimeFormat(locale, { timeZone: tz, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  function fmt(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (isNaN(d) || d.getUTCFullYear() < 1970) return '';
    return dtf.format(d);
  }
  function fmtShort(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (isNaN(d)) return '';
    return today() === dayOf(d) ? tf.format(d) : dtf.format(d);
  }
  const dayFmt = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
  const dayOf = (d) => dayFmt.format(d);
  const today = () => dayOf(new Date());
  function toast(msg, error) {
    const el = document.getElementById('toast');
    el.textContent = msg;
    el.className = 'toast' + (error ? ' error' : '');
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => el.classList.add('hidden'), 4000);
  }
  async function api(method, path, body) {
    const opt = { method, credentials: 'same-origin', headers: { 'Accept': 'application/json' } };
    if (method !== 'GET') opt.headers['X-CSRF-Token'] = boot.csrf;
    if (body !== undefined) {
      opt.headers['Content-Type'] = 'application/json';
      opt.body = JSON.stringify(body);
    }
    let r;
    try { r = await fetch(path, opt); } catch (e) { throw new Error(t('err.network')); }
    if (r.status === 401) {
      location.href = '/login?next=' + encodeURIComponent(location.pathname);
      throw new Error('unauthenticated');
    }
    if (r.status === 204) return null;
    const data = await r.json().catch(() => ({}));
    if (!r.ok) {
      const err = new Error(r.status === 403 && data.code === 'forbidden' ? t('err.forbidden') : (data.error || t('err.generic')));
      err.status = r.status;
      err.code = data.code;
      throw err;
    }
    return data;
  }
  const sevBadge = (s) => h('span', { class: 'sev sev-' + s, text: t('sev.' + s) });
  const stateBadge = (s) => h('span', { class: 'state state-' + s, text: t('state.' + s) });
  function snapshotURL(a) {
    const f = a.fields || {};
    for (const k of ['snapshot_url', 'snapshot', 'image_url', 'picture_url']) {
      if (typeof f[k] === 'string' && /^https?:\/\//i.test(f[k])) return f[k];
    }
    return '';
  }
  const zones = boot.zones || {};
  const zoneName = (z) => zones[z] || z || '';
  const where = (a) => a.location || zoneName(a.zone) || a.device || '';
  const byNewest = (a, b) => (b.fired_at || '').localeCompare(a.fired_at || '') || (b.id < a.id ? -1 : 1);

  // ---- live alarm state (every page: the badge and the sound follow it) ----
  const active = new Map();
  const hooks = { changed: null, update: null };
  function changed() {
    const unacked = [...active.values()].filter((a) => a.state === 'firing').length;
    const badge = document.getElementById('alarm-count');
    badge.textContent = String(unacked);
    badge.classList.toggle('hidden', unacked === 0);
    sound.update();
    if (hooks.changed) hooks.changed();
  }
  function upsert(a) {
    if (a.state === 'resolved') active.delete(a.id); else active.set(a.id, a);
    changed();
    if (hooks.update) hooks.update(a);
  }
  async function refetch() {
    try {
      const r = await api('GET', '/api/alarms/active');
      active.clear();
      for (const a of r.alarms) active.set(a.id, a);
      changed();
    } catch (e) { toast(e.message, true); }
  }
  function setLive(ok) {
    const el = document.getElementById('live');
    el.classList.toggle('lost', !ok);
    el.title = ok ? t('live.connected') : t('live.lost');
    document.body.dataset.live = ok ? 'on' : 'off';
  }
  function connect() {
    const es = new EventSource('/api/events');
    es.addEventListener('ready', () => { setLive(true); refetch(); });
    es.addEventListener('resync', refetch);
    es.addEventListener('alarm', (e) => { try { upsert(JSON.parse(e.data)); } catch (err) { refetch(); } });
    es.addEventListener('logout', () => { es.close(); location.href = '/login'; });
    es.onerror = () => {
      setLive(false);
      if (es.readyState === EventSource.CLOSED) {
        // the server refused the stream (session over?): check, then reconnect
        setTimeout(() => api('GET', '/api/session').then(connect, () => setTimeout(connect, 5000)), 3000);
      }
    };
  }

  // ---- the audible alert: a Web Audio tone while a critical alarm is unacknowledged ----
  const sound = {
    ctx: null, timer: null, beeps: 0,
    muted: new Set(JSON.parse(sessionStorage.getItem('cg-muted') || '[]')),
    wanted() {
      return [...active.values()].filter((a) => a.severity === 'critical' && a.state === 'firing' && !this.muted.has(a.id));
    },
    update() {
      const want = this.wanted().length > 0;
      if (want && !this.timer) {
        this.beep();
        this.timer = setInterval(() => this.beep(), 2000);
      } else if (!want && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
      document.body.dataset.sound = want ? 'on' : 'off';
      if (!want) document.getElementById('sound-banner').classList.add('hidden');
      const anyMuted = [...active.values()].some((a) => this.muted.has(a.id) && a.state === 'firing');
      document.getElementById('muted-banner').classList.toggle('hidden', !anyMuted);
      document.getElementById('mute').textContent = anyMuted && !want ? t('nav.unmute') : t('nav.mute');
    },
    context() {
      if (!this.ctx) {
        const AC = window.AudioContext || window.webkitAudioContext;
        if (!AC) return null;
        this.ctx = new AC();
      }
      return this.ctx;
    },
    beep() {
      const ctx = this.context();
      if (!ctx) return;
      if (ctx.state !== 'running') {
        // browsers start audio only after a user gesture: ask for one
        ctx.resume().catch(() => {});
        document.getElementById('sound-banner').classList.remove('hidden');
        document.body.dataset.audio = 'blocked';
        return;
      }
      document.getElementById('sound-banner').classList.add('hidden');
      document.body.dataset.audio = 'running';
      this.beeps++;
      const now = ctx.currentTime;
      [[988, 0], [740, 0.28], [988, 0.56], [740, 0.84]].forEach(([f, at]) => {
        const o = ctx.createOscillator();
        const g = ctx.createGain();
        o.type = 'square';
        o.frequency.value = f;
        g.gain.setValueAtTime(0.0001, now + at);
        g.gain.exponentialRampToValueAtTime(0.25, now + at + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.25);
        o.connect(g).connect(ctx.destination);
        o.start(now + at);
        o.stop(now + at + 0.26);
      });
    },
    toggleMute() {
      const want = this.wanted();
      if (want.length > 0) want.forEach((a) => this.muted.add(a.id));
      else this.muted.clear();
      sessionStorage.setItem('cg-muted', JSON.stringify([...this.muted]));
      this.update();
    },
  };
  const unlock = () => { const c = sound.context(); if (c && c.state !== 'running') c.resume().then(() => sound.update(), () => {}); };
  document.addEventListener('click', unlock);
  document.addEventListener('keydown', unlock);
  document.getElementById('mute').addEventListener('click', () => sound.toggleMute());
  window.cgConsole = { sound, active };

  // ---- acknowledge / reset with a note ----
  const dialog = document.getElementById('note-dialog');
  let pending = null;
  function openNote(action, a) {
    pending = { action, a };
    document.getElementById('note-title').textContent = t(action === 'ack' ? 'dialog.ack' : 'dialog.resolve');
    document.getElementById('note-alarm').textContent = [t('sev.' + a.severity), where(a), a.message].filter(Boolean).join(' · ');
    document.getElementById('note-text').value = '';
    dialog.showModal();
    document.getElementById('note-text').focus();
  }
  document.getElementById('note-cancel').addEventListener('click', () => { pending = null; dialog.close(); });
  document.getElementById('note-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!pending) return;
    const { action, a } = pending;
    pending = null;
    const btn = document.getElementById('note-submit');
    btn.disabled = true;
    try {
      const updated = await api('POST', '/api/alarms/' + encodeURIComponent(a.id) + '/' + action,
        { note: document.getElementById('note-text').value });
      dialog.close();
      toast(t(action === 'ack' ? 'state.acknowledged' : 'state.resolved'));
      if (updated && updated.id) upsert(updated);
    } catch (err) {
      dialog.close();
      toast(err.message, true);
      refetch();
    } finally {
      btn.disabled = false;
    }
  });
  function actionButtons(a) {
    const out = [];
    if (boot.can_ack && a.state === 'firing') {
      out.push(h('button', { type: 'button', class: 'primary ack', text: t('act.ack'), onclick: () => openNote('ack', a) }));
    }
    if (boot.can_ack && a.state !== 'resolved') {
      out.push(h('button', { type: 'button', class: 'resolve', text: t('act.resolve'), onclick: () => openNote('resolve', a) }));
    }
    return out;
  }
  function flags(a) {
    return [
      a.test && h('span', { class: 'chip', text: t('alarm.test') }),
      a.cleared && h('span', { class: 'chip', text: t('alarm.cleared') }),
      a.silenced && h('span', { class: 'chip', text: t('alarm.silenced') }),
      a.inhibited && h('span', { class: 'chip', text: t('alarm.inhibited') }),
      a.disarmed && h('span', { class: 'chip', text: t('alarm.disarmed') }),
    ];
  }

  // ---- pages ----
  function alarmCard(a) {
    const snap = snapshotURL(a);
    return h('article', { class: `alarm ${a.state} sev-${a.severity}-row`, id: 'alarm-' + a.id, dataset: { id: a.id, state: a.state } },
      h('div', { class: 'bar' }),
      h('div', { class: 'body' },
        h('div', { class: 'line1' }, sevBadge(a.severity), stateBadge(a.state), flags(a), h('span', { class: 'msg', text: a.message || a.rule })),
        h('div', { class: 'meta' },
          h('span', {}, t('alarm.location') + ' ', h('b', { text: where(a) })),
          a.zone && h('span', { text: t('alarm.zone') + ' ' + zoneName(a.zone) }),
          h('span', { text: t('alarm.fired_at') + ' ' + fmtShort(a.fired_at) }),
          a.count > 1 && h('span', { class: 'count', text: t('alarm.count') + ' ×' + a.count }),
          a.acked_by && h('span', { class: 'acked', text: t('alarm.acked') + ' ' + a.acked_by + (a.ack_note ? ' — ' + a.ack_note : '') }))),
      h('div', { class: 'side' },
        snap && h('a', { href: snap, target: '_blank', rel: 'noopener noreferrer' }, h('img', { class: 'thumb', src: snap, alt: t('alarm.snapshot'), loading: 'lazy' })),
        h('div', { class: 'actions' }, actionButtons(a),
          h('a', { href: '/alarms/' + encodeURIComponent(a.id), class: 'detail', text: t('act.detail') }))));
  }

  function pageAlarms() {
    const summary = h('span', { class: 'summary' });
    const list = h('div', { class: 'alarms', id: 'alarm-list' });
    main.replaceChildren(h('h1', {}, t('alarms.title'), summary), list);
    hooks.changed = () => {
      const all = [...active.values()].sort(byNewest);
      const unacked = all.filter((a) => a.state === 'firing').length;
      summary.replaceChildren(
        h('span', { class: 'chip', text: `${t('alarms.unacked')} ${unacked}` }),
        h('span', { class: 'chip', text: `${t('alarms.total')} ${all.length}` }));
      list.replaceChildren(...(all.length ? all.map(alarmCard) : [h('div', { class: 'empty', id: 'no-alarms', text: t('alarms.empty') })]));
    };
    hooks.changed();
  }

  async function pageDetail() {
    const id = boot.alarm;
    const load = async () => {
      let d;
      try { d = await api('GET', '/api/alarms/' + encodeURIComponent(id)); } catch (e) {
        main.replaceChildren(h('h1', { text: t('detail.title') }), h('div', { class: 'empty', text: e.status === 404 ? t('detail.not_found') : e.message }));
        return;
      }
      const a = d.alarm;
      const snap = snapshotURL(a);
      const kv = (k, v) => (v || v === 0) ? [h('dt', { text: t(k) }), h('dd', {}, v)] : [];
      main.replaceChildren(
        h('p', {}, h('a', { href: '/', text: '← ' + t('act.back') })),
        h('h1', {}, sevBadge(a.severity), stateBadge(a.state), flags(a), h('span', { id: 'detail-message', text: a.message || a.rule })),
        h('div', { class: 'grid2' },
          h('div', { class: 'panel' },
            h('dl', { class: 'kv' },
              kv('alarm.location', where(a)), kv('alarm.zone', a.zone ? zoneName(a.zone) + (zones[a.zone] ? ' (' + a.zone + ')' : '') : ''), kv('alarm.device', a.device ? a.device + (a.device_kind ? ' (' + t('kind.' + a.device_kind) + ')' : '') : ''),
              kv('alarm.rule', a.rule), kv('alarm.fired_at', fmt(a.fired_at)), kv('alarm.last_at', fmt(a.last_at)),
              kv('alarm.count', a.count), kv('alarm.escalation', a.escalation || ''),
              kv('alarm.acked', a.acked_by ? `${a.acked_by} · ${fmt(a.acked_at)}${a.ack_note ? ' — ' + a.ack_note : ''}` : ''),
              kv('alarm.resolved_by', a.resolved_by ? `${a.resolved_by} · ${fmt(a.resolved_at)}${a.reason ? ' — ' + a.reason : ''}` : ''),
              kv('alarm.latched', a.latched && a.state !== 'resolved' ? '✓' : ''), kv('alarm.id', a.id)),
            h('div', { class: 'row actions', id: 'detail-actions' }, actionButtons(a))),
          h('div', { class: 'panel' }, snap ? [h('h2', { text: t('alarm.snapshot') }), h('a', { href: snap, target: '_blank', rel: 'noopener noreferrer' }, h('img', { class: 'snapshot', src: snap, alt: t('alarm.snapshot') }))]
            : h('p', { class: 'muted', text: t('kind.' + (a.device_kind || 'system')) }))),
        h('h2', { text: t('detail.audit') }),
        table(['history.time', 'history.action', 'history.by', 'alarm.note'], d.history, (r) => [
          fmt(r.at), t('action.' + r.action), r.by || '—', r.note || ''], 'audit'),
        d.deliveries.length ? [h('h2', { text: t('detail.deliveries') }),
          table(['history.time', 'Sink', 'alarm.state', 'Attempts', 'Error'], d.deliveries, (x) => [
            fmt(x.created_at), x.sink, x.state + ' (' + x.notification.transition + ')', x.attempts, x.last_error || ''], 'deliveries')] : []);
    };
    hooks.update = (a) => { if (a.id === id) load(); };
    await load();
  }

  function table(heads, rows, cells, id) {
    if (!rows || rows.length === 0) return h('div', { class: 'empty', id, text: t('history.empty') });
    const labels = heads.map(t);
    return h('table', { class: 'responsive', id },
      h('thead', {}, h('tr', {}, labels.map((l) => h('th', { text: l })))),
      h('tbody', {}, rows.map((r) => h('tr', {}, cells(r).map((c, i) => h('td', { 'data-label': labels[i] }, c))))));
  }

  function select(name, options, label) {
    return h('label', {}, label, h('select', { name }, h('option', { value: '', text: t('history.any') }),
      options.map(([v, l]) => h('option', { value: v, text: l }))));
  }

  function pageHistory() {
    const form = h('form', { class: 'filters', id: 'history-filters' },
      h('label', {}, t('history.from'), h('input', { type: 'date', name: 'from' })),
      h('label', {}, t('history.to'), h('input', { type: 'date', name: 'to' })),
      select('severity', ['critical', 'major', 'minor', 'info'].map((s) => [s, t('sev.' + s)]), t('alarm.severity')),
      select('state', ['firing', 'acknowledged', 'resolved'].map((s) => [s, t('state.' + s)]), t('alarm.state')),
      h('label', {}, t('alarm.device'), h('input', { name: 'device', size: 12 })),
      h('label', {}, t('alarm.zone'), h('input', { name: 'zone', size: 10 })),
      h('button', { type: 'submit', class: 'primary', text: t('act.search') }));
    const out = h('div', { id: 'history-results' });
    const rform = h('form', { class: 'filters', id: 'records-filters' },
      select('action', ['acknowledged', 'resolved', 'silenced', 'unsilenced', 'armed', 'disarmed', 'login', 'login_failed', 'logout', 'fired', 'escalated']
        .map((s) => [s, t('action.' + s)]), t('history.action')),
      h('label', {}, t('history.by'), h('input', { name: 'by', size: 12 })),
      h('button', { type: 'submit', class: 'primary', text: t('act.search') }));
    const rout = h('div', { id: 'records-results' });
    main.replaceChildren(h('h1', { text: t('history.title') }), form, out, h('h2', { text: t('history.records') }), rform, rout);
    const run = async (f, path, into, cols, cells, key, cursor, append) => {
      const q = new URLSearchParams();
      for (const [k, v] of new FormData(f)) if (v) q.set(k, v);
      q.set('limit', '50');
      if (cursor) q.set('cursor', cursor);
      let r;
      try { r = await api('GET', path + '?' + q); } catch (e) { into.replaceChildren(h('div', { class: 'empty', text: e.message })); return; }
      const rows = r[key];
      if (append) {
        const tbody = into.querySelector('tbody');
        const labels = cols.map(t);
        if (tbody) rows.forEach((x) => tbody.append(h('tr', {}, cells(x).map((c, i) => h('td', { 'data-label': labels[i] }, c)))));
      } else {
        into.replaceChildren(table(cols, rows, cells));
      }
      into.querySelectorAll('.more').forEach((b) => b.remove());
      if (r.next) into.append(h('p', {}, h('button', { type: 'button', class: 'more', text: t('act.more'), onclick: () => run(f, path, into, cols, cells, key, r.next, true) })));
    };
    const alarmCols = ['alarm.fired_at', 'alarm.severity', 'alarm.message', 'alarm.location', 'alarm.state', 'alarm.acked', 'alarm.resolved_by'];
    const alarmCells = (a) => [fmt(a.fired_at), sevBadge(a.severity), h('a', { href: '/alarms/' + encodeURIComponent(a.id), text: a.message || a.rule }),
      where(a), stateBadge(a.state), a.acked_by || '', a.resolved_by || ''];
    const recCols = ['history.time', 'history.action', 'history.by', 'alarm.id', 'alarm.note'];
    const recCells = (r) => [fmt(r.at), t('action.' + r.action), r.by || '—',
      r.alarm ? h('a', { href: '/alarms/' + encodeURIComponent(r.alarm), text: r.alarm }) : (r.zone || ''), r.note || ''];
    form.addEventListener('submit', (e) => { e.preventDefault(); run(form, '/api/alarms', out, alarmCols, alarmCells, 'alarms'); });
    rform.addEventListener('submit', (e) => { e.preventDefault(); run(rform, '/api/records', rout, recCols, recCells, 'records'); });
    run(form, '/api/alarms', out, alarmCols, alarmCells, 'alarms');
    run(rform, '/api/records', rout, recCols, recCells, 'records');
  }

  async function pageDevices() {
    const load = async () => {
      let r;
      try { r = await api('GET', '/api/devices'); } catch (e) { main.replaceChildren(h('h1', { text: t('devices.title') }), h('div', { class: 'empty', text: e.message })); return; }
      const rank = (d) => (d.status === 'offline' ? 0 : d.tamper || d.fault ? 1 : d.status === 'unknown' ? 2 : 3);
      const devs = r.devices.sort((a, b) => rank(a) - rank(b) || a.device.localeCompare(b.device));
      const c = r.counts;
      main.replaceChildren(
        h('h1', {}, t('devices.title'), h('span', { class: 'summary' },
          h('span', { class: 'chip st-online', text: `${t('devices.online')} ${c.online}` }),
          h('span', { class: 'chip st-offline', text: `${t('devices.offline')} ${c.offline}` }),
          c.unknown ? h('span', { class: 'chip', text: `${t('devices.unknown')} ${c.unknown}` }) : null,
          c.tamper ? h('span', { class: 'chip warn', text: `${t('devices.tamper')} ${c.tamper}` }) : null,
          c.fault ? h('span', { class: 'chip warn', text: `${t('devices.fault')} ${c.fault}` }) : null,
          c.low_battery ? h('span', { class: 'chip warn', text: `${t('devices.low_battery')} ${c.low_battery}` }) : null)),
        devs.length === 0 ? h('div', { class: 'empty', text: t('devices.empty') }) :
          table(['alarm.device', 'field.kind', 'alarm.location', 'devices.status', 'devices.last_seen', 'devices.tamper', 'devices.fault', 'devices.battery', 'devices.supply'], devs, (d) => [
            h('span', {}, h('b', { text: d.name || d.device }), d.name ? h('div', { class: 'muted', text: d.device }) : null),
            t('kind.' + d.kind), d.location || '',
            h('span', { class: 'st-' + d.status, text: t('devices.' + d.status) + (d.status === 'offline' && d.offline_since ? ' · ' + fmtShort(d.offline_since) : '') }),
            d.last_seen ? fmtShort(d.last_seen) : t('devices.never'),
            d.tamper ? h('span', { class: 'warn', text: '⚠ ' + t('devices.tamper') }) : t('devices.ok'),
            d.fault ? h('span', { class: 'warn', text: '⚠ ' + (d.fault_reason || t('devices.fault')) }) : t('devices.ok'),
            d.battery !== undefined ? h('span', { class: d.battery < 20 ? 'warn' : '', text: Math.round(d.battery) + '%' }) : '—',
            d.supply_v !== undefined ? d.supply_v.toFixed(1) + ' V' : '—'], 'devices'));
    };
    await load();
    setInterval(load, 30000);
  }

  async function pagePatrols() {
    const date = h('input', { type: 'date', name: 'date', value: today() });
    const body = h('div', { id: 'patrol-report' });
    main.replaceChildren(h('h1', {}, t('patrols.title'), h('label', { class: 'row' }, t('patrols.date'), date)), body);
    const pct = (x) => h('span', {}, h('span', { class: 'bar-rate' }, h('span', {})), Math.round((x || 0) * 100) + '%');
    const load = async () => {
      let r;
      try { r = await api('GET', '/api/patrol/report?date=' + encodeURIComponent(date.value || today())); } catch (e) {
        body.replaceChildren(h('div', { class: 'empty', text: e.status === 503 ? t('unavailable') : e.message }));
        return;
      }
      const tot = r.totals;
      const rate = (x) => { const el = pct(x); el.querySelector('.bar-rate span').style.width = Math.round((x || 0) * 100) + '%'; return el; };
      body.replaceChildren(
        h('div', { class: 'summary' },
          h('span', { class: 'chip', text: `${t('patrols.completion')} ${Math.round(tot.completion_rate * 100)}%` }),
          h('span', { class: 'chip', text: `${t('patrols.completed')} ${tot.completed}/${tot.runs}` }),
          tot.in_progress ? h('span', { class: 'chip', text: `${t('patrols.in_progress')} ${tot.in_progress}` }) : null,
          h('span', { class: 'chip', text: `${t('patrols.missed')} ${tot.missed}` }),
          h('span', { class: 'chip', text: `${t('patrols.late')} ${tot.late}` }),
          h('span', { class: 'chip', text: `${t('patrols.out_of_order')} ${tot.out_of_order}` })),
        h('h2', { text: t('patrols.plans') }),
        table(['patrols.plans', 'patrols.completion', 'patrols.completed', 'patrols.incomplete', 'patrols.not_started', 'patrols.missed', 'patrols.late', 'patrols.out_of_order', 'patrols.guards'],
          r.plans, (p) => [p.name || p.plan, rate(p.completion_rate), p.completed + '/' + p.runs, p.incomplete, p.not_started, p.missed, p.late, p.out_of_order, (p.guards || []).join('、')], 'patrol-plans'),
        h('h2', { text: t('patrols.runs') }),
        table(['patrols.scheduled', 'patrols.plans', 'alarm.state', 'patrols.guards', 'patrols.checkpoints'], r.runs.slice().reverse(), (x) => [
          fmtShort(x.scheduled), x.plan_name || x.plan, h('span', { class: 'chip', text: t('patrols.' + x.status) }),
          (x.guards || []).map((g) => g.name || g.id).join('、'),
          h('span', {}, (x.checkpoints || []).map((c) => h('span', { class: 'cp cp-' + (c.status || 'pending'), title: c.location || '',
            text: (c.name || c.checkpoint) + ' ' + t('patrols.' + (c.status || 'pending')) })))], 'patrol-runs'));
    };
    date.addEventListener('change', load);
    await load();
    setInterval(load, 60000);
  }

  async function pageSilences() {
    const list = h('div', { id: 'silence-list' });
    const zones = h('div', { id: 'zone-list' });
    const parts = [h('h1', { text: t('silences.title') }), h('p', { class: 'muted', text: t('silences.note') }),
      h('h2', { text: t('silences.active') }), list];
    let form = null;
    if (boot.can_silence) {
      const rows = h('div', {});
      const addRow = () => rows.append(h('div', { class: 'matcher-row' },
        h('select', { name: 'field' }, ['device', 'zone', 'rule', 'severity', 'kind'].map((f) => h('option', { value: f, text: t('field.' + f) }))),
        h('input', { name: 'value', required: true, maxlength: 128, placeholder: t('silences.value') })));
      addRow();
      form = h('form', { class: 'panel', id: 'silence-form' },
        h('div', { class: 'grid2' },
          h('div', {}, h('label', {}, t('silences.match')), rows, h('button', { type: 'button', text: '+', onclick: addRow })),
          h('div', { class: 'row' },
            h('label', {}, t('silences.reason'), h('input', { name: 'reason', required: true, maxlength: 500, size: 28 })),
            h('label', {}, t('silences.duration'), h('select', { name: 'duration' },
              ['30m', '1h', '2h', '4h', '8h', '24h', '72h'].map((d) => h('option', { value: d, text: d, selected: d === '2h' })))),
            h('button', { type: 'submit', class: 'primary', text: t('act.create') }))));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const matchers = {};
        rows.querySelectorAll('.matcher-row').forEach((r) => {
          const v = r.querySelector('input').value.trim();
          if (v) matchers[r.querySelector('select').value] = v;
        });
        try {
          await api('POST', '/api/silences', { matchers, reason: form.reason.value, duration: form.duration.value });
          form.reset();
          toast(t('action.silenced'));
          load();
        } catch (err) { toast(err.message, true); }
      });
      parts.push(h('h2', { text: t('silences.new') }), form);
    }
    parts.push(h('h2', { text: t('zones.title') }), h('p', { class: 'muted', text: t('zones.note') }), zones);
    main.replaceChildren(...parts);
    const load = async () => {
      try {
        const r = await api('GET', '/api/silences');
        const matchText = (m) => Object.entries(m).map(([k, v]) => `${t('field.' + k) === 'field.' + k ? k : t('field.' + k)}=${v}`).join(', ');
        list.replaceChildren(table(['silences.match', 'silences.reason', 'silences.by', 'silences.start', 'silences.until', ''], r.silences, (s) => [
          matchText(s.matchers), s.reason, s.by, fmtShort(s.start), fmtShort(s.end),
          boot.can_silence ? h('button', { type: 'button', class: 'end', text: t('act.end'), onclick: async () => {
            try { await api('DELETE', '/api/silences/' + encodeURIComponent(s.id)); load(); } catch (err) { toast(err.message, true); }
          } }) : ''], 'silences'));
        const z = await api('GET', '/api/zones');
        zones.replaceChildren(table(['alarm.zone', 'alarm.location', 'alarm.state', 'history.by', 'history.time', ''], z.zones, (x) => [
          x.zone, x.name || '', h('span', { class: x.armed ? 'st-online' : 'st-offline', text: t(x.armed ? 'zones.armed' : 'zones.disarmed') }),
          x.by || '', fmtShort(x.at), boot.can_silence ? h('button', { type: 'button', text: t(x.armed ? 'act.disarm' : 'act.arm'), onclick: async () => {
            try { await api('POST', `/api/zones/${encodeURIComponent(x.zone)}/${x.armed ? 'disarm' : 'arm'}`); load(); } catch (err) { toast(err.message, true); }
          } }) : ''], 'zones'));
      } catch (err) { list.replaceChildren(h('div', { class: 'empty', text: err.message })); }
    };
    await load();
  }

  const pages = { alarms: pageAlarms, detail: pageDetail, history: pageHistory, devices: pageDevices, patrols: pagePatrols, silences: pageSilences };
  document.getElementById('sound-banner').addEventListener('click', unlock);
  document.body.dataset.sound = 'off';
  setLive(false);
  (pages[boot.page] || pageAlarms)();
  connect();
})();
