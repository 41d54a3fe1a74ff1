// campusguard duty console. Plain JavaScript, no build step, no external assets.
// Every piece of data is put into the page with textContent (never as HTML).
'use strict';
(function () {
  const boot = JSON.parse(document.getElementById('cg-boot').textContent);
  const M = boot.messages || {};
  const t = (k) => (k in M ? M[k] : k);
  // tf fills {1}, {2} … of a catalogue text.
  const tf = (k, ...args) => args.reduce((s, a, i) => s.split('{' + (i + 1) + '}').join(String(a)), t(k));
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
      else if (k === 'style') Object.assign(el.style, v); // CSSOM: allowed by the page's CSP, a style attribute is not
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    append(el, kids);
    return el;
  }
  function append(el, kids) {
    for (const kid of [kids].flat(Infinity)) {
      if (kid === undefined || kid === null || kid === false || kid === '') continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }
  // show replaces el's content; nested arrays are flattened (never stringified).
  const show = (el, ...kids) => { el.replaceChildren(); return append(el, kids); };
  const dtf = new Intl.DateTimeFormat(locale, { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  const timef = new Intl.DateTimeFormat(locale, { timeZone: tz, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  const validDate = (iso) => { if (!iso) return null; const d = new Date(iso); return isNaN(d) || d.getUTCFullYear() < 1970 ? null : d; };
  const fmt = (iso) => { const d = validDate(iso); return d ? dtf.format(d) : ''; };
  const fmtShort = (iso) => { const d = validDate(iso); return d ? (today() === dayOf(d) ? timef.format(d) : dtf.format(d)) : ''; };
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
    try { r = await fetch(path, opt); } catch (e) { const err = new Error(t('err.network')); err.network = true; throw err; }
    if (r.status === 401) {
      location.href = '/login?next=' + encodeURIComponent(location.pathname);
      throw new Error(t('err.generic'));
    }
    if (r.status === 204) return null;
    const data = await r.json().catch(() => ({}));
    if (!r.ok) {
      const err = new Error(r.status === 403 && data.code === 'forbidden' ? t('err.forbidden') : (r.status >= 500 ? t('err.generic') : (data.error || t('err.generic'))));
      err.status = r.status;
      err.code = data.code;
      throw err;
    }
    return data;
  }

  // ---- names in the operator's words ----
  const zones = boot.zones || {};
  const people = boot.people || {};
  const siteInfo = { devices: new Map(), zones: new Map(), buildings: new Map(), plan: '', loaded: false };
  const zoneName = (z) => zones[z] || z || '';
  const person = (n) => (n === 'rule' || n === 'system') ? t('action.resolved_auto') : (people[n] || n || '');
  // Some alarms come from a synthetic device (the patrol tracker's "patrol:<plan>"):
  // never show such a key; the alarm's fields name the place.
  const synthetic = (id) => /^[a-z]+:/.test(id || '');
  const deviceName = (id) => (siteInfo.devices.get(id) || {}).name || (synthetic(id) ? t('kind.' + id.split(':')[0]) : id) || '';
  function place(a) {
    const d = siteInfo.devices.get(a.device) || {};
    const b = siteInfo.buildings.get(d.building);
    const f = b && (b.floors || []).find((x) => x.id === d.floor);
    return [b && b.name, f && f.name].filter(Boolean).join(' ');
  }
  function where(a) {
    const f = a.fields || {};
    const fromFields = [f.checkpoint_name, f.checkpoint_location].filter((x) => typeof x === 'string' && x).join(' · ');
    return (a.location && !synthetic(a.location) ? a.location : '') || (siteInfo.devices.get(a.device) || {}).location || fromFields ||
      (typeof f.location === 'string' ? f.location : '') || zoneName(a.zone) ||
      (synthetic(a.device) ? deviceName(a.device) + (f.plan_name ? ' · ' + f.plan_name : '') : deviceName(a.device)) || '';
  }
  const contactsOf = (a) => ((siteInfo.zones.get(a.zone) || {}).contacts || []);
  // planOf is the plan image a device is drawn on ("" when none): its floor's, else the campus's.
  function planOf(d) {
    if (!d || !d.position) return '';
    const f = ((siteInfo.buildings.get(d.building) || {}).floors || []).find((x) => x.id === d.floor);
    return (d.floor && f && f.plan) || siteInfo.plan || '';
  }
  // miniPlan shows where a device is: its plan with a blinking marker.
  function miniPlan(d) {
    const url = planOf(d);
    if (!url) return null;
    return h('div', { class: 'plan-wrap mini', id: 'detail-plan' }, h('img', { class: 'plan-img', src: url, alt: d.location || d.name || '' }),
      h('span', { class: 'dev pin dev-alarm', style: { left: d.position.x + '%', top: d.position.y + '%' } }, h('span', { class: 'dot' }), h('span', { class: 'label', text: d.name || d.id })));
  }
  function durationText(s) {
    const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?$/.exec(s || '');
    if (!m || !s) return s;
    const parts = [];
    if (+m[1]) parts.push(t('unit.hours').replace('{n}', m[1]));
    if (+m[2]) parts.push(t('unit.minutes').replace('{n}', m[2]));
    if (m[3] && Math.round(+m[3])) parts.push(t('unit.seconds').replace('{n}', String(Math.round(+m[3]))));
    return parts.length ? parts.join(boot.lang === 'zh' ? '' : ' ') : t('unit.seconds').replace('{n}', '0');
  }
  const patterns = (boot.patterns || []).map((p) => ({ re: new RegExp(p.re), key: p.key, args: p.args || [] }));
  // note shows a journal note or reason in the page's language (notes.go has the table).
  function note(s) {
    if (!s) return '';
    for (const p of patterns) {
      const m = p.re.exec(s);
      if (!m) continue;
      let out = t(p.key);
      for (let g = 1; g < m.length; g++) {
        let v = m[g];
        switch (p.args[g - 1]) {
          case 'dur': v = durationText(v); break;
          case 'event': v = t('event.' + v); break;
          case 'role': v = t('role.' + v); break;
          case 'time': v = fmtShort(v) || v; break;
          case 'matchers': v = v.split(',').map(matcherText).join(boot.lang === 'zh' ? '，' : ', '); break;
        }
        out = out.split('{' + g + '}').join(v);
      }
      return out;
    }
    return s;
  }
  function matcherText(kv) {
    const i = kv.indexOf('=');
    if (i < 0) return kv;
    const k = kv.slice(0, i), v = kv.slice(i + 1);
    const label = t('field.' + k) === 'field.' + k ? k : t('field.' + k);
    const val = k === 'zone' ? zoneName(v) : k === 'device' ? deviceName(v) : k === 'severity' ? t('sev.' + v) : k === 'kind' ? t('kind.' + v) : v;
    return label + '=' + val;
  }
  const resolvedByPerson = (a) => a.resolved_by && a.resolved_by !== 'rule' && a.resolved_by !== 'system';
  const stateText = (a) => (a.state === 'resolved' && !resolvedByPerson(a) ? t('state.resolved_auto') : t('state.' + a.state));
  const actionText = (r) => (r.action === 'resolved' && (!r.by || r.by === 'rule' || r.by === 'system') ? t('action.resolved_auto') : t('action.' + r.action));
  const paren = (s) => (boot.lang === 'zh' ? '（' + s + '）' : ' (' + s + ')');
  const sevBadge = (s) => h('span', { class: 'sev sev-' + s, text: t('sev.' + s) });
  const stateBadge = (a) => h('span', { class: 'state state-' + a.state, text: stateText(a) });
  const classChip = (a) => a.class && a.class !== 'other' ? h('span', { class: 'chip class-' + a.class, text: t('class.' + a.class) }) : null;
  function snapshotURL(a) {
    const f = a.fields || {};
    for (const k of ['snapshot_url', 'snapshot', 'image_url', 'picture_url']) {
      if (typeof f[k] === 'string' && /^https?:\/\//i.test(f[k])) return f[k];
    }
    return '';
  }
  // msgText is the alarm's message without a snapshot's address (the card shows the image).
  const msgText = (a) => (a.message ? a.message.replace(/\s*(截图|snapshot)?\s*https?:\/\/\S+/gi, '').trim() : '') || a.rule;
  const count = (a) => a.count || 1;
  const critical = (a) => a.severity === 'critical';
  const sevRank = (s) => ['critical', 'major', 'minor', 'info'].indexOf(s) + 1 || 9;
  const lastAt = (a) => (a.last_at && a.last_at > (a.fired_at || '') ? a.last_at : a.fired_at || '');
  // byUrgency: unacknowledged critical first, then severity, unacknowledged first, latest first (urgency.go).
  function byUrgency(a, b) {
    const ua = critical(a) && a.state === 'firing', ub = critical(b) && b.state === 'firing';
    if (ua !== ub) return ua ? -1 : 1;
    if (sevRank(a.severity) !== sevRank(b.severity)) return sevRank(a.severity) - sevRank(b.severity);
    if ((a.state === 'firing') !== (b.state === 'firing')) return a.state === 'firing' ? -1 : 1;
    return lastAt(b).localeCompare(lastAt(a)) || (b.id < a.id ? -1 : 1);
  }

  // ---- live alarm state (every page: the badge, the takeover and the sound follow it) ----
  const active = new Map();
  const deliveries = new Map();
  const hooks = { changed: null, update: null };
  function changed() {
    const unacked = [...active.values()].filter((a) => a.state === 'firing').length;
    const badge = document.getElementById('alarm-count');
    badge.textContent = String(unacked);
    badge.classList.toggle('hidden', unacked === 0);
    document.title = (unacked ? '(' + unacked + ') ' : '') + document.title.replace(/^\(\d+\) /, '');
    sound.update();
    takeover.update();
    if (hooks.changed) hooks.changed();
  }
  function upsert(a) {
    const old = active.get(a.id);
    if (a.state === 'resolved') active.delete(a.id); else active.set(a.id, a);
    sound.seen(a, old);
    changed();
    if (hooks.update) hooks.update(a);
    scheduleRefetch();
  }
  let refetching = null;
  async function refetch() {
    if (refetching) return refetching;
    refetching = (async () => {
      try {
        const r = await api('GET', '/api/alarms/active?deliveries=1');
        const ids = new Set(r.alarms.map((a) => a.id));
        for (const id of [...active.keys()]) if (!ids.has(id)) active.delete(id);
        for (const a of r.alarms) { sound.seen(a, active.get(a.id)); active.set(a.id, a); }
        deliveries.clear();
        for (const [id, ds] of Object.entries(r.deliveries || {})) deliveries.set(id, ds);
        changed();
      } catch (e) {
        // keep the last known list: an empty one would tell the room that nothing is open
        if (!e.network && e.code !== 'stopping') toast(e.message, true);
      } finally { refetching = null; }
    })();
    return refetching;
  }
  let refetchTimer = null;
  function scheduleRefetch(ms) {
    clearTimeout(refetchTimer);
    refetchTimer = setTimeout(() => { if (live.ok) refetch(); }, ms || 1500);
  }
  // While a police report is on its way, look again for its receipt.
  setInterval(() => {
    const waiting = [...deliveries.values()].flat().some((d) => d.sink === boot.police_sink && d.state === 'pending');
    if (waiting && live.ok) refetch();
  }, 5000);

  // ---- the link to the daemon: a screen that never goes blank ----
  const live = { es: null, ok: false, lastMsg: 0, lastOK: null, attempt: 0, timer: null, retryAt: 0, everOK: false };
  function markAlive() { live.lastMsg = Date.now(); live.lastOK = new Date(); }
  function setLive(ok) {
    const was = live.ok;
    live.ok = ok;
    const el = document.getElementById('live');
    el.classList.toggle('lost', !ok);
    el.title = ok ? t('live.connected') : t('live.lost');
    document.body.dataset.live = ok ? 'on' : 'off';
    connBanner.update();
    sound.lostChanged();
    if (ok && !was && live.everOK) toast(t('conn.back'));
    if (ok) live.everOK = true;
  }
  function connect() {
    clearTimeout(live.timer);
    if (live.es) live.es.close();
    const es = new EventSource('/api/events');
    live.es = es;
    es.addEventListener('ready', () => { live.attempt = 0; markAlive(); setLive(true); refetch(); });
    es.addEventListener('ping', markAlive);
    es.addEventListener('resync', () => { markAlive(); refetch(); });
    es.addEventListener('alarm', (e) => { markAlive(); try { upsert(JSON.parse(e.data)); } catch (err) { refetch(); } });
    es.addEventListener('stopping', () => lost());
    es.addEventListener('logout', () => { es.close(); location.href = '/login'; });
    es.onerror = () => lost();
  }
  // lost closes the stream and reconnects with a growing pause (1 s … 30 s, jittered);
  // before each try it asks for the session, so an ended one goes to the login page.
  function lost() {
    if (live.es) { live.es.close(); live.es = null; }
    setLive(false);
    clearTimeout(live.timer);
    const delay = Math.min(30000, 1000 * 2 ** Math.min(live.attempt, 5)) * (0.8 + Math.random() * 0.4);
    live.attempt++;
    live.retryAt = Date.now() + delay;
    connBanner.update();
    live.timer = setTimeout(() => api('GET', '/api/session').then(connect, () => lost()), delay);
  }
  // A link that went quiet (a cable pulled, a sleeping proxy) counts as lost: the
  // daemon sends a ping every 15 s.
  setInterval(() => { if (live.ok && Date.now() - live.lastMsg > 40000) lost(); }, 5000);

  const connBanner = {
    el: document.getElementById('conn-banner'),
    update() {
      const down = !live.ok && (live.everOK || live.attempt > 0);
      this.el.classList.toggle('hidden', !down);
      document.body.classList.toggle('conn-lost', down);
      if (!down) return;
      const secs = Math.max(0, Math.ceil((live.retryAt - Date.now()) / 1000));
      show(this.el, h('strong', { text: '⚠ ' + t('conn.lost') }),
        h('span', { text: tf('conn.detail', live.lastOK ? fmtShort(live.lastOK.toISOString()) : t('conn.never')) }),
        h('span', { class: 'retry', text: tf('conn.retry', secs, live.attempt) }));
    },
  };
  setInterval(() => { if (!live.ok) connBanner.update(); }, 1000);

  // ---- the audible alert: it follows occurrences ----
  // A critical alarm rings while it is unacknowledged, and again for every new
  // occurrence (its count rises), acknowledged or not. 静音 quiets the occurrences
  // ringing now; the next occurrence rings again. While the link to the daemon is lost
  // a different, lower tone sounds.
  const stored = (k) => { try { return new Map(JSON.parse(sessionStorage.getItem(k) || '[]')); } catch (e) { return new Map(); } };
  const sound = {
    ctx: null, timer: null, beeps: 0, lostBeeps: 0, lostTimer: null, lostMuted: false,
    muted: stored('cg-muted2'), // alarm id → count quieted by 静音
    acked: new Map(), // alarm id → count when it was (last seen) acknowledged
    save() { sessionStorage.setItem('cg-muted2', JSON.stringify([...this.muted])); },
    // seen records an alarm's update: an acknowledgement quiets its occurrences so far;
    // a new occurrence (count up, or the stream says so) rings even if muted before.
    seen(a, old) {
      if (a.state === 'acknowledged') {
        const before = this.acked.get(a.id);
        if (before === undefined || (old && old.state === 'firing')) this.acked.set(a.id, count(a));
      }
      if (a.occurrence && (this.muted.get(a.id) || 0) >= count(a)) { this.muted.delete(a.id); this.save(); }
      if (a.occurrence && a.state === 'acknowledged' && (this.acked.get(a.id) || 0) >= count(a)) this.acked.set(a.id, count(a) - 1);
      if (a.state === 'resolved') { this.acked.delete(a.id); if (this.muted.delete(a.id)) this.save(); }
    },
    // needs reports whether a critical alarm has an occurrence nobody has answered.
    needs(a) {
      if (!critical(a) || a.state === 'resolved') return false;
      return a.state === 'firing' || count(a) > (this.acked.get(a.id) ?? count(a));
    },
    ringing(a) { return this.needs(a) && (this.muted.get(a.id) || 0) < count(a); },
    wanted() { return [...active.values()].filter((a) => this.ringing(a)); },
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
      if (!want && !this.lostTimer) document.getElementById('sound-banner').classList.add('hidden');
      const anyMuted = [...active.values()].some((a) => this.needs(a) && !this.ringing(a));
      document.getElementById('muted-banner').classList.toggle('hidden', !anyMuted);
    },
    lostChanged() {
      if (live.ok) {
        clearTimeout(this.lostDelay); this.lostDelay = null;
        clearInterval(this.lostTimer); this.lostTimer = null;
        this.lostMuted = false;
        document.body.dataset.lostSound = 'off';
        return;
      }
      if (this.lostTimer || this.lostDelay || this.lostMuted || !live.everOK) return;
      // a blip of a few seconds (a reload of the daemon) stays quiet
      this.lostDelay = setTimeout(() => {
        this.lostDelay = null;
        if (live.ok || this.lostMuted) return;
        document.body.dataset.lostSound = 'on';
        this.lostBeep();
        this.lostTimer = setInterval(() => this.lostBeep(), 10000);
      }, 5000);
    },
    context() {
      if (!this.ctx) {
        const AC = window.AudioContext || window.webkitAudioContext;
        if (!AC) return null;
        this.ctx = new AC();
      }
      return this.ctx;
    },
    ready() {
      const ctx = this.context();
      if (!ctx) return null;
      if (ctx.state !== 'running') {
        // browsers start audio only after a user gesture: ask for one
        ctx.resume().catch(() => {});
        document.getElementById('sound-banner').classList.remove('hidden');
        document.body.dataset.audio = 'blocked';
        return null;
      }
      document.getElementById('sound-banner').classList.add('hidden');
      document.body.dataset.audio = 'running';
      return ctx;
    },
    tone(ctx, steps, type, gain) {
      const now = ctx.currentTime;
      steps.forEach(([f, at, len]) => {
        const o = ctx.createOscillator();
        const g = ctx.createGain();
        o.type = type;
        o.frequency.value = f;
        g.gain.setValueAtTime(0.0001, now + at);
        g.gain.exponentialRampToValueAtTime(gain, now + at + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, now + at + len);
        o.connect(g).connect(ctx.destination);
        o.start(now + at);
        o.stop(now + at + len + 0.01);
      });
    },
    beep() {
      const ctx = this.ready();
      if (!ctx) return;
      this.beeps++;
      this.tone(ctx, [[988, 0, 0.25], [740, 0.28, 0.25], [988, 0.56, 0.25], [740, 0.84, 0.25]], 'square', 0.25);
    },
    // lostBeep: two long, low, falling tones — not the alarm's.
    lostBeep() {
      const ctx = this.ready();
      if (!ctx) return;
      this.lostBeeps++;
      this.tone(ctx, [[523, 0, 0.6], [392, 0.7, 0.6], [262, 1.4, 0.9]], 'sine', 0.3);
    },
    mute() {
      this.wanted().forEach((a) => this.muted.set(a.id, count(a)));
      if (!live.ok) {
        this.lostMuted = true;
        clearInterval(this.lostTimer); this.lostTimer = null;
        clearTimeout(this.lostDelay); this.lostDelay = null;
      }
      this.save();
      this.update();
    },
  };
  const unlock = () => { const c = sound.context(); if (c && c.state !== 'running') c.resume().then(() => sound.update(), () => {}); };
  document.addEventListener('click', unlock);
  document.addEventListener('keydown', unlock);
  document.getElementById('mute').addEventListener('click', () => sound.mute());

  // ---- acknowledge / reset with a note ----
  const dialog = document.getElementById('note-dialog');
  let pending = null;
  function openNote(action, a) {
    pending = { action, a };
    document.getElementById('note-title').textContent = t(action === 'ack' ? 'dialog.ack' : 'dialog.resolve');
    document.getElementById('note-alarm').textContent = [t('sev.' + a.severity), where(a), msgText(a)].filter(Boolean).join(' · ');
    const quick = document.getElementById('note-quick');
    show(quick, (action === 'ack' ? ['dialog.quick_arrived', 'dialog.quick_called'] : ['dialog.quick_false', 'dialog.quick_arrived']).map((k) =>
      h('button', { type: 'button', class: 'quick', text: t(k), onclick: () => { document.getElementById('note-text').value = t(k); } })));
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

  // ---- what a guard needs on the card ----
  // policeStatus is the police report of the alarm, from its delivery records.
  function policeStatus(a, ds) {
    const mine = (ds || deliveries.get(a.id) || []).filter((d) => d.sink === boot.police_sink);
    if (mine.length === 0) return null;
    const last = mine.reduce((x, y) => ((y.created_at || '') > (x.created_at || '') ? y : x));
    const done = mine.filter((d) => d.state === 'delivered').pop();
    let cls = 'police-ok', text;
    if (last.state === 'pending') {
      cls = 'police-wait';
      text = last.attempts > 1 && last.last_error ? tf('police.failing', last.attempts) : last.attempts > 0 ? tf('police.pending', last.attempts) : t('police.queued');
    } else if (last.state === 'rejected') {
      cls = 'police-bad';
      text = t('police.rejected');
    } else {
      text = tf('police.acked', fmtShort(last.done_at || last.last_attempt));
    }
    if (last.state === 'pending' && done) text = tf('police.acked', fmtShort(done.done_at)) + ' · ' + text;
    const via = last.via || (last.notification && last.notification.via);
    return h('span', { class: 'police ' + cls, title: t('alarm.police') }, '☎ ' + text + (via ? ' · ' + via : ''));
  }
  function contactList(a, max) {
    const cs = contactsOf(a);
    if (cs.length === 0) return null;
    return h('span', { class: 'contacts' }, cs.slice(0, max || cs.length).map((c) =>
      h('a', { class: 'contact', href: 'tel:' + c.phone.replace(/[^\d+]/g, '') }, c.name + (c.role ? paren(c.role) : '') + ' ' + c.phone)));
  }

  // ---- the takeover: a new critical alarm fills the screen until acknowledged ----
  const takeover = {
    el: document.getElementById('takeover'),
    seen: new Map(), // alarm id → count a viewer (or an already acknowledged alarm) dismissed
    candidates() {
      return [...active.values()].filter((a) => sound.needs(a) && (this.seen.get(a.id) || 0) < count(a)).sort(byUrgency);
    },
    update() {
      const list = this.candidates();
      document.body.classList.toggle('takeover-on', list.length > 0);
      this.el.classList.toggle('hidden', list.length === 0);
      if (list.length === 0) { this.shown = null; return; }
      const a = list[0];
      const key = [a.id, count(a), a.state, list.length, (deliveries.get(a.id) || []).map((d) => d.state + d.attempts).join()].join('#');
      if (this.shown === key) return;
      this.shown = key;
      const pl = place(a);
      const canAck = boot.can_ack && a.state === 'firing';
      show(this.el, h('div', { class: 'takeover-box', role: 'alertdialog', 'aria-labelledby': 'takeover-what', dataset: { id: a.id } },
        h('div', { class: 'takeover-head' }, h('span', { text: '⚠ ' + t('takeover.title') }), classChip(a),
          count(a) > 1 ? h('span', { class: 'chip', text: tf('takeover.occurrence', count(a)) }) : null,
          h('span', { class: 'time', text: fmtShort(lastAt(a)) })),
        h('h1', { id: 'takeover-what', text: msgText(a) }),
        h('dl', { class: 'takeover-kv' },
          h('dt', { text: t('takeover.where') }), h('dd', { class: 'where' }, h('b', { text: where(a) }), pl ? ' · ' + pl : '', a.zone && zoneName(a.zone) !== where(a) ? ' · ' + zoneName(a.zone) : ''),
          h('dt', { text: t('takeover.todo') }), h('dd', { text: t('todo.' + (a.class && M['todo.' + a.class] ? a.class : 'other')) }),
          h('dt', { text: t('takeover.call') }), h('dd', {}, contactList(a) || t('takeover.no_contacts')),
          policeStatus(a) ? [h('dt', { text: t('alarm.police') }), h('dd', {}, policeStatus(a))] : null),
        list.length > 1 ? h('p', { class: 'more', text: tf('takeover.more', list.length - 1) }) : null,
        h('div', { class: 'takeover-actions' },
          canAck ? h('button', { type: 'button', class: 'primary big', id: 'takeover-ack', text: t('takeover.ack'), onclick: () => openNote('ack', a) })
            : h('button', { type: 'button', class: 'primary big', id: 'takeover-seen', text: t('takeover.seen'), onclick: () => { this.seen.set(a.id, count(a)); this.update(); } }),
          h('button', { type: 'button', class: 'big', text: t('nav.mute'), onclick: () => sound.mute() }),
          h('a', { class: 'button big', href: '/alarms/' + encodeURIComponent(a.id), text: t('act.detail') }))));
    },
  };

  // ---- pages ----
  function alarmCard(a) {
    const snap = snapshotURL(a);
    const pl = place(a);
    return h('article', { class: `alarm ${a.state} sev-${a.severity}-row` + (sound.ringing(a) ? ' ringing' : ''), id: 'alarm-' + a.id, dataset: { id: a.id, state: a.state, count: count(a) } },
      h('div', { class: 'bar' }),
      h('div', { class: 'body' },
        h('div', { class: 'line1' }, sevBadge(a.severity), stateBadge(a), classChip(a), flags(a),
          h('span', { class: 'msg', text: msgText(a), title: msgText(a) }),
          count(a) > 1 ? h('span', { class: 'count', text: tf('alarm.occurrences', count(a)) }) : null),
        h('div', { class: 'meta' },
          h('span', { class: 'where' }, h('b', { text: where(a) }), pl ? ' · ' + pl : ''),
          a.zone && zoneName(a.zone) !== where(a) ? h('span', { text: zoneName(a.zone) }) : null,
          h('span', { class: 'time', text: fmtShort(lastAt(a)) }),
          policeStatus(a),
          a.acked_by ? h('span', { class: 'acked', text: t('alarm.acked') + ' ' + person(a.acked_by) + (a.ack_note ? ' — ' + a.ack_note : '') }) : null,
          critical(a) || a.class === 'intrusion' ? contactList(a, 2) : null)),
      h('div', { class: 'side' },
        snap ? h('a', { href: snap, target: '_blank', rel: 'noopener noreferrer' }, h('img', { class: 'thumb', src: snap, alt: t('alarm.snapshot'), loading: 'lazy' })) : null,
        h('div', { class: 'actions' }, actionButtons(a),
          h('a', { href: '/alarms/' + encodeURIComponent(a.id), class: 'detail', text: t('act.detail') }))));
  }

  function pageAlarms() {
    const summary = h('span', { class: 'summary' });
    const list = h('div', { class: 'alarms', id: 'alarm-list' });
    show(main, h('h1', {}, t('alarms.title'), summary), list);
    hooks.changed = () => {
      const all = [...active.values()].sort(byUrgency);
      const unacked = all.filter((a) => a.state === 'firing').length;
      show(summary,
        h('span', { class: 'chip', text: `${t('alarms.unacked')} ${unacked}` }),
        h('span', { class: 'chip', text: `${t('alarms.total')} ${all.length}` }));
      if (all.length === 0 && !live.everOK) return; // not loaded yet: never claim "no alarms"
      show(list, all.length ? all.map(alarmCard) : h('div', { class: 'empty', id: 'no-alarms', text: t('alarms.empty') }));
    };
    hooks.changed();
  }

  async function pageDetail() {
    const id = boot.alarm;
    const load = async () => {
      let d;
      try { d = await api('GET', '/api/alarms/' + encodeURIComponent(id)); } catch (e) {
        if (e.network) return; // keep what is shown; the banner says the link is lost
        show(main, h('h1', { text: t('detail.title') }), h('div', { class: 'empty', text: e.status === 404 ? t('detail.not_found') : e.message }));
        return;
      }
      const a = d.alarm;
      const snap = snapshotURL(a);
      const kv = (k, v) => (v || v === 0) ? [h('dt', { text: t(k) }), h('dd', {}, v)] : [];
      const dev = siteInfo.devices.get(a.device);
      const devText = a.device ? deviceName(a.device) + (a.device_kind ? paren(t('kind.' + a.device_kind)) : '') : '';
      show(main,
        h('p', {}, h('a', { href: '/', text: '← ' + t('act.back') })),
        h('h1', {}, sevBadge(a.severity), stateBadge(a), classChip(a), flags(a), h('span', { id: 'detail-message', text: msgText(a) })),
        h('div', { class: 'grid2' },
          h('div', { class: 'panel' },
            h('dl', { class: 'kv' },
              kv('alarm.location', where(a)), kv('alarm.building', place(a)), kv('alarm.zone', zoneName(a.zone)),
              kv('alarm.device', devText), kv('alarm.fired_at', fmt(a.fired_at)), kv('alarm.last_at', fmt(a.last_at)),
              kv('alarm.count', count(a)), kv('alarm.escalation', a.escalation || ''),
              kv('alarm.police', policeStatus(a, d.deliveries)),
              kv('alarm.contacts', contactList(a)),
              kv('alarm.acked', a.acked_by ? `${person(a.acked_by)} · ${fmt(a.acked_at)}${a.ack_note ? ' — ' + a.ack_note : ''}` : ''),
              kv('alarm.resolved_by', a.resolved_by ? `${person(a.resolved_by)} · ${fmt(a.resolved_at)}${a.reason ? ' — ' + note(a.reason) : ''}` : ''),
              kv('alarm.latched', a.latched && a.state !== 'resolved' ? '✓' : ''), kv('alarm.id', h('span', { class: 'id', text: a.id }))),
            h('div', { class: 'row actions', id: 'detail-actions' }, actionButtons(a))),
          h('div', { class: 'panel' }, snap ? [h('h2', { text: t('alarm.snapshot') }), h('a', { href: snap, target: '_blank', rel: 'noopener noreferrer' }, h('img', { class: 'snapshot', id: 'detail-snapshot', src: snap, alt: t('alarm.snapshot') }))] : null,
            miniPlan(dev) ? [h('h2', { text: t('nav.plan') }), miniPlan(dev)] : null,
            !snap && !miniPlan(dev) ? h('p', { class: 'muted', text: dev ? dev.location || t('kind.' + dev.kind) : t('kind.' + (a.device_kind || 'system')) }) : null)),
        h('h2', { text: t('detail.audit') }),
        table(['history.time', 'history.action', 'history.by', 'alarm.note'], d.history, (r) => [
          fmt(r.at), actionText(r), person(r.by) || '—', note(r.note)], 'audit'),
        h('h2', { text: t('detail.deliveries') }),
        table(['history.time', 'deliv.sink', 'deliv.what', 'alarm.state', 'deliv.attempts', 'deliv.done'], d.deliveries, (x) => [
          fmt(x.created_at), sinkName(x.sink), t('tr.' + ((x.notification || {}).transition || 'fired')),
          h('span', { class: 'deliv-' + x.state, text: t('deliv.' + x.state) }), x.attempts, fmt(x.done_at)], 'deliveries'));
    };
    hooks.update = (a) => { if (a.id === id) load(); };
    await siteLoaded;
    await load();
  }
  const sinkName = (s) => (s === boot.police_sink ? t('sink.police') : s === 'siren' ? t('sink.siren') : tf('sink.other', s));

  function table(heads, rows, cells, id) {
    if (!rows || rows.length === 0) return h('div', { class: 'empty', id, text: t('history.empty') });
    const labels = heads.map((k) => (k ? t(k) : ''));
    return h('table', { class: 'responsive', id },
      h('thead', {}, h('tr', {}, labels.map((l) => h('th', { text: l })))),
      h('tbody', {}, rows.map((r) => h('tr', {}, cells(r).map((c, i) => h('td', { 'data-label': labels[i] }, c))))));
  }

  function select(name, options, label) {
    return h('label', {}, label, h('select', { name }, h('option', { value: '', text: t('history.any') }),
      options.map(([v, l]) => h('option', { value: v, text: l }))));
  }

  function pageHistory() {
    const zoneOpts = Object.keys(zones).map((z) => [z, zoneName(z)]);
    const form = h('form', { class: 'filters', id: 'history-filters' },
      h('label', {}, t('history.from'), h('input', { type: 'date', name: 'from' })),
      h('label', {}, t('history.to'), h('input', { type: 'date', name: 'to' })),
      select('severity', ['critical', 'major', 'minor', 'info'].map((s) => [s, t('sev.' + s)]), t('alarm.severity')),
      select('state', ['firing', 'acknowledged', 'resolved'].map((s) => [s, t('state.' + s)]), t('alarm.state')),
      h('label', {}, t('alarm.device'), h('input', { name: 'device', size: 12, value: new URLSearchParams(location.search).get('device') || undefined })),
      zoneOpts.length ? select('zone', zoneOpts, t('alarm.zone')) : h('label', {}, t('alarm.zone'), h('input', { name: 'zone', size: 10 })),
      h('button', { type: 'submit', class: 'primary', text: t('act.search') }));
    const out = h('div', { id: 'history-results' });
    const rform = h('form', { class: 'filters', id: 'records-filters' },
      select('action', ['acknowledged', 'resolved', 'occurrence', 'silenced', 'unsilenced', 'armed', 'disarmed', 'login', 'login_failed', 'logout', 'fired', 'escalated']
        .map((s) => [s, t('action.' + s)]), t('history.action')),
      h('label', {}, t('history.by'), h('input', { name: 'by', size: 12 })),
      h('button', { type: 'submit', class: 'primary', text: t('act.search') }));
    const rout = h('div', { id: 'records-results' });
    // The records of a date range for the school's archive or an inspection (operators).
    const eform = h('form', { class: 'filters', id: 'export-form' },
      h('label', {}, t('history.from'), h('input', { type: 'date', name: 'from', required: true })),
      h('label', {}, t('history.to'), h('input', { type: 'date', name: 'to', required: true })),
      select('table', [['alarms', t('history.export_alarms')], ['records', t('history.records')]], t('history.export_table')),
      select('format', [['csv', 'CSV'], ['json', 'JSON']], t('history.export_format')),
      h('button', { type: 'submit', class: 'primary', text: t('history.export') }));
    eform.addEventListener('submit', (e) => {
      e.preventDefault();
      const q = new URLSearchParams();
      for (const [k, v] of new FormData(eform)) if (v) q.set(k, v);
      location.href = '/api/records/export?' + q;
    });
    const exportPart = boot.can_silence ? [h('h2', { text: t('history.export') }), eform] : [];
    show(main, h('h1', { text: t('history.title') }), form, out, h('h2', { text: t('history.records') }), rform, rout, ...exportPart);
    const run = async (f, path, into, cols, cells, key, cursor, more) => {
      const q = new URLSearchParams();
      for (const [k, v] of new FormData(f)) if (v) q.set(k, v);
      q.set('limit', '50');
      if (cursor) q.set('cursor', cursor);
      let r;
      try { r = await api('GET', path + '?' + q); } catch (e) { show(into, h('div', { class: 'empty', text: e.message })); return; }
      const rows = r[key];
      if (more) {
        const tbody = into.querySelector('tbody');
        const labels = cols.map(t);
        if (tbody) rows.forEach((x) => tbody.append(h('tr', {}, cells(x).map((c, i) => h('td', { 'data-label': labels[i] }, c)))));
      } else {
        show(into, table(cols, rows, cells));
      }
      into.querySelectorAll('.more').forEach((b) => b.remove());
      if (r.next) into.append(h('p', {}, h('button', { type: 'button', class: 'more', text: t('act.more'), onclick: () => run(f, path, into, cols, cells, key, r.next, true) })));
    };
    const alarmCols = ['alarm.fired_at', 'alarm.severity', 'alarm.message', 'alarm.location', 'alarm.state', 'alarm.acked', 'alarm.resolved_by'];
    const alarmCells = (a) => [fmt(a.fired_at), sevBadge(a.severity), h('a', { href: '/alarms/' + encodeURIComponent(a.id), text: msgText(a) }),
      where(a), stateBadge(a), person(a.acked_by), resolvedByPerson(a) ? person(a.resolved_by) : (a.state === 'resolved' ? t('action.resolved_auto') : '')];
    const recCols = ['history.time', 'history.action', 'history.by', 'alarm.location', 'alarm.note'];
    const recCells = (r) => {
      const a = active.get(r.alarm);
      const what = r.alarm ? h('a', { href: '/alarms/' + encodeURIComponent(r.alarm), text: a ? where(a) : (r.device ? deviceName(r.device) : zoneName(r.zone)) || t('act.detail') }) : zoneName(r.zone);
      return [fmt(r.at), actionText(r), person(r.by) || '—', what, note(r.note)];
    };
    form.addEventListener('submit', (e) => { e.preventDefault(); run(form, '/api/alarms', out, alarmCols, alarmCells, 'alarms'); });
    rform.addEventListener('submit', (e) => { e.preventDefault(); run(rform, '/api/records', rout, recCols, recCells, 'records'); });
    run(form, '/api/alarms', out, alarmCols, alarmCells, 'alarms');
    run(rform, '/api/records', rout, recCols, recCells, 'records');
  }

  // The police link: each path's state, last ACK, backlog, last rejection, and the
  // test windows of the quarterly test of the alarm path (operators start and end them).
  async function pageLink() {
    const load = async () => {
      let r;
      try { r = await api('GET', '/api/policelink'); } catch (e) {
        if (!e.network) show(main, h('h1', { text: t('link.title') }), h('div', { class: 'empty', text: e.message }));
        return;
      }
      const parts = [h('h1', { text: t('link.title') }), h('p', { class: 'muted', text: t('link.note') })];
      if (!r.enabled) {
        parts.push(h('div', { class: 'empty', text: t('link.disabled') }));
        show(main, ...parts);
        return;
      }
      const det = (r.health && r.health.detail) || {};
      const own = (det.sink && det.sink.detail) || {};
      const paths = own.paths || {};
      const names = Object.keys(paths).sort((a, b) => (a === 'main' ? -1 : b === 'main' ? 1 : a.localeCompare(b)));
      parts.push(h('div', { class: 'row' },
        h('span', { class: 'chip ' + (r.health.state === 'up' ? 'st-online' : 'warn'), text: t('link.state_' + r.health.state) }),
        h('span', { class: 'chip', text: tf('link.backlog', det.backlog || 0) }),
        h('span', { class: 'chip', text: tf('link.delivered', own.delivered || 0) }),
        own.last_periodic_test ? h('span', { class: 'chip', text: tf('link.last_test', fmtShort(own.last_periodic_test)) }) : null));
      const rej = (p) => ((p.receivers || []).find((x) => x.rejected) || {}).rejected || '';
      parts.push(table(['link.path', 'link.state', 'link.last_ack', 'link.down_since', 'link.rejected'], names, (n) => {
        const p = paths[n];
        return [t('link.path_' + n), h('span', { class: p.state === 'up' ? 'st-online' : p.state === 'down' ? 'st-offline' : '', text: t('link.pstate_' + p.state) }),
          p.last_ack ? fmtShort(p.last_ack) : '—', p.down_since ? fmtShort(p.down_since) : '—', rej(p) ? note(rej(p)) : '—'];
      }, 'link-paths'));
      parts.push(h('h2', { text: t('link.tests') }), h('p', { class: 'muted', text: t('link.tests_note') }));
      const tests = r.tests || [];
      parts.push(tests.length === 0 ? h('div', { class: 'empty', text: t('link.no_tests') }) :
        table(['link.what', 'link.until', 'link.by', 'silences.reason', ''], tests, (w) => [
          w.device ? deviceName(w.device) : zoneName(w.zone), fmt(w.until), person(w.by), w.reason,
          boot.can_silence ? h('button', { type: 'button', text: t('link.end'), onclick: async () => {
            try { await api('POST', '/api/testmode/end', w.device ? { device: w.device } : { zone: w.zone }); load(); } catch (err) { toast(err.message, true); }
          } }) : ''], 'link-tests'));
      if (boot.can_silence) {
        const devs = [...siteInfo.devices.keys()].filter((id) => !synthetic(id));
        const form = h('form', { class: 'panel', id: 'test-form' }, h('div', { class: 'row' },
          h('label', {}, t('alarm.device'), h('select', { name: 'device' }, devs.map((id) => h('option', { value: id, text: deviceName(id) })))),
          h('label', {}, t('silences.duration'), h('select', { name: 'duration' },
            ['30m', '1h', '2h', '4h', '8h'].map((d) => h('option', { value: d, text: durationText(d.endsWith('m') ? d : d.replace('h', 'h0m0s')), selected: d === '1h' })))),
          h('label', {}, t('silences.reason'), h('input', { name: 'reason', required: true, maxlength: 200, size: 28, placeholder: t('link.reason_hint') })),
          h('button', { type: 'submit', class: 'primary', text: t('link.start') })));
        form.addEventListener('submit', async (e) => {
          e.preventDefault();
          try {
            await api('POST', '/api/testmode', { device: form.device.value, duration: form.duration.value, reason: form.reason.value });
            load();
          } catch (err) { toast(err.message, true); }
        });
        parts.push(h('h2', { text: t('link.new_test') }), form);
      }
      show(main, ...parts);
    };
    await load();
    setInterval(load, 15000);
  }

  async function pageDevices() {
    const load = async () => {
      let r;
      try { r = await api('GET', '/api/devices'); } catch (e) {
        if (!e.network) show(main, h('h1', { text: t('devices.title') }), h('div', { class: 'empty', text: e.status === 503 ? t('unavailable') : e.message }));
        return;
      }
      const rank = (d) => (d.status === 'offline' ? 0 : d.tamper || d.fault ? 1 : d.status === 'unknown' ? 2 : 3);
      const devs = r.devices.sort((a, b) => rank(a) - rank(b) || a.device.localeCompare(b.device));
      const c = r.counts;
      show(main,
        h('h1', {}, t('devices.title'), h('span', { class: 'summary' },
          h('span', { class: 'chip st-online', text: `${t('devices.online')} ${c.online}` }),
          h('span', { class: 'chip st-offline', text: `${t('devices.offline')} ${c.offline}` }),
          c.unknown ? h('span', { class: 'chip', text: `${t('devices.unknown')} ${c.unknown}` }) : null,
          c.tamper ? h('span', { class: 'chip warn', text: `${t('devices.tamper')} ${c.tamper}` }) : null,
          c.fault ? h('span', { class: 'chip warn', text: `${t('devices.fault')} ${c.fault}` }) : null,
          c.low_battery ? h('span', { class: 'chip warn', text: `${t('devices.low_battery')} ${c.low_battery}` }) : null)),
        devs.length === 0 ? h('div', { class: 'empty', text: t('devices.empty') }) :
          table(['alarm.device', 'field.kind', 'alarm.location', 'devices.status', 'devices.last_seen', 'devices.tamper', 'devices.fault', 'devices.battery', 'devices.supply'], devs, (d) => [
            h('span', {}, h('b', { text: d.name || d.device }), d.name ? h('div', { class: 'muted id', text: d.device }) : null),
            t('kind.' + d.kind), d.location || '',
            h('span', { class: 'st-' + d.status, text: t('devices.' + d.status) + (d.status === 'offline' && d.offline_since ? ' · ' + fmtShort(d.offline_since) : '') }),
            d.last_seen ? fmtShort(d.last_seen) : t('devices.never'),
            d.tamper ? h('span', { class: 'warn', text: '⚠ ' + t('devices.tamper') }) : t('devices.ok'),
            d.fault ? h('span', { class: 'warn', text: '⚠ ' + t('devices.fault'), title: d.fault_reason || '' }) : t('devices.ok'),
            d.battery !== undefined ? h('span', { class: d.battery < 20 ? 'warn' : '', text: Math.round(d.battery) + '%' }) : '—',
            d.supply_v !== undefined ? d.supply_v.toFixed(1) + ' V' : '—'], 'devices'));
    };
    await load();
    setInterval(load, 30000);
  }

  async function pagePatrols() {
    const date = h('input', { type: 'date', name: 'date', value: today() });
    const body = h('div', { id: 'patrol-report' });
    show(main, h('h1', {}, t('patrols.title'), h('label', { class: 'row' }, t('patrols.date'), date)), body);
    const load = async () => {
      let r;
      try { r = await api('GET', '/api/patrol/report?date=' + encodeURIComponent(date.value || today())); } catch (e) {
        if (!e.network) show(body, h('div', { class: 'empty', text: e.status === 503 ? t('unavailable') : e.message }));
        return;
      }
      show(body, patrolReport(r));
    };
    date.addEventListener('change', load);
    await load();
    setInterval(load, 60000);
  }
  function patrolReport(r) {
    const tot = r.totals;
    const rate = (x) => h('span', {}, h('span', { class: 'bar-rate' }, h('span', { style: { width: Math.round((x || 0) * 100) + '%' } })), Math.round((x || 0) * 100) + '%');
    return [
      h('div', { class: 'summary' },
        h('span', { class: 'chip', text: `${t('patrols.completion')} ${Math.round(tot.completion_rate * 100)}%` }),
        h('span', { class: 'chip', text: `${t('patrols.completed')} ${tot.completed}/${tot.runs}` }),
        tot.in_progress ? h('span', { class: 'chip', text: `${t('patrols.in_progress')} ${tot.in_progress}` }) : null,
        h('span', { class: 'chip', text: `${t('patrols.missed')} ${tot.missed}` }),
        h('span', { class: 'chip', text: `${t('patrols.late')} ${tot.late}` }),
        h('span', { class: 'chip', text: `${t('patrols.out_of_order')} ${tot.out_of_order}` })),
      h('h2', { text: t('patrols.plans') }),
      table(['patrols.plans', 'patrols.completion', 'patrols.completed', 'patrols.incomplete', 'patrols.not_started', 'patrols.missed', 'patrols.late', 'patrols.out_of_order', 'patrols.guards'],
        r.plans, (p) => [p.name || p.plan, rate(p.completion_rate), p.completed + '/' + p.runs, p.incomplete, p.not_started, p.missed, p.late, p.out_of_order, (p.guards || []).map(person).join('、')], 'patrol-plans'),
      h('h2', { text: t('patrols.runs') }),
      table(['patrols.scheduled', 'patrols.plans', 'alarm.state', 'patrols.guards', 'patrols.checkpoints'], r.runs.slice().reverse(), (x) => [
        fmtShort(x.scheduled), x.plan_name || x.plan, h('span', { class: 'chip', text: t('patrols.' + x.status) }),
        (x.guards || []).map((g) => g.name || person(g.id)).join('、'),
        h('span', {}, (x.checkpoints || []).map((c) => h('span', { class: 'cp cp-' + (c.status || 'pending'), title: c.location || '',
          text: (c.name || c.checkpoint) + ' ' + t('patrols.' + (c.status || 'pending')) })))], 'patrol-runs')];
  }

  async function pageSilences() {
    const list = h('div', { id: 'silence-list' });
    const zoneList = h('div', { id: 'zone-list' });
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
              ['30m', '1h', '2h', '4h', '8h', '24h', '72h'].map((d) => h('option', { value: d, text: durationText(d.endsWith('m') ? d : d.replace('h', 'h0m0s')), selected: d === '2h' })))),
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
    parts.push(h('h2', { text: t('zones.title') }), h('p', { class: 'muted', text: t('zones.note') }), zoneList);
    // A bounded override with a reason: guards arm or delay a scheduled arming,
    // operators also disarm (docs/arming.md).
    let armForm = null;
    if (boot.can_ack) {
      const actions = boot.can_silence ? ['arm', 'delay', 'disarm'] : ['arm', 'delay'];
      const actionText = { arm: t('zones.do_arm'), delay: t('zones.do_delay'), disarm: t('zones.do_disarm') };
      armForm = h('form', { class: 'panel', id: 'arming-form' },
        h('div', { class: 'row' },
          h('label', {}, t('alarm.zone'), h('select', { name: 'zone' })),
          h('label', {}, t('zones.action'), h('select', { name: 'action' }, actions.map((a) => h('option', { value: a, text: actionText[a] })))),
          h('label', {}, t('silences.duration'), h('select', { name: 'duration' },
            ['', '30m', '1h', '2h', '4h', '8h', '12h'].map((d) => h('option', { value: d, text: d ? durationText(d.endsWith('m') ? d : d.replace('h', 'h0m0s')) : t('zones.until_schedule') })))),
          h('label', {}, t('silences.reason'), h('input', { name: 'reason', maxlength: 200, size: 24 })),
          h('button', { type: 'submit', class: 'primary', text: t('zones.override') })));
      armForm.addEventListener('submit', async (e) => {
        e.preventDefault();
        const f = armForm;
        const a = f.action.value;
        try {
          await api('POST', `/api/zones/${encodeURIComponent(f.zone.value)}/arming`,
            { armed: a === 'arm', delay: a === 'delay', duration: f.duration.value, reason: f.reason.value });
          f.reason.value = '';
          load();
        } catch (err) { toast(err.message, true); }
      });
      parts.push(h('h2', { text: t('zones.override_title') }), armForm);
    }
    const sessions = h('div', { id: 'session-list' });
    if (boot.can_silence) parts.push(h('h2', { text: t('sessions.title') }), sessions);
    show(main, parts);
    const load = async () => {
      try {
        const r = await api('GET', '/api/silences');
        const matchText = (m) => Object.entries(m).map(([k, v]) => matcherText(k + '=' + v)).join(boot.lang === 'zh' ? '，' : ', ');
        show(list, table(['silences.match', 'silences.reason', 'silences.by', 'silences.start', 'silences.until', ''], r.silences, (s) => [
          matchText(s.matchers), s.reason, person(s.by), fmtShort(s.start), fmtShort(s.end),
          boot.can_silence ? h('button', { type: 'button', class: 'end', text: t('act.end'), onclick: async () => {
            try { await api('DELETE', '/api/silences/' + encodeURIComponent(s.id)); load(); } catch (err) { toast(err.message, true); }
          } }) : ''], 'silences'));
        const z = await api('GET', '/api/zones');
        if (armForm) {
          const sel = armForm.zone;
          const cur = sel.value;
          sel.replaceChildren(...z.zones.filter((x) => !x.panic).map((x) => h('option', { value: x.zone, text: x.name || x.zone, selected: x.zone === cur })));
        }
        show(zoneList, table(['alarm.zone', 'alarm.state', 'zones.schedule', 'history.by', 'history.time', ''], z.zones, (x) => [
          h('span', {}, h('b', { text: x.name || x.zone }), x.name ? h('span', { class: 'muted id', text: ' ' + x.zone }) : null),
          h('span', { class: x.armed ? 'st-online' : 'st-offline', text: t(x.armed ? 'zones.armed' : 'zones.disarmed') }),
          x.panic ? t('zones.panic') : h('span', {}, x.schedule ? x.schedule + ' → ' + t(x.should ? 'zones.armed' : 'zones.disarmed') : '',
            x.override ? h('span', { class: 'chip', text: t('zones.override_until') + ' ' + fmtShort(x.override.until) + (x.override.reason ? '：' + x.override.reason : '') }) : null),
          person(x.by), fmtShort(x.at), boot.can_silence ? h('button', { type: 'button', text: t(x.armed ? 'act.disarm' : 'act.arm'), onclick: async () => {
            try { await api('POST', `/api/zones/${encodeURIComponent(x.zone)}/${x.armed ? 'disarm' : 'arm'}`); load(); } catch (err) { toast(err.message, true); }
          } }) : ''], 'zones'));
        if (boot.can_silence) {
          const s = await api('GET', '/api/sessions');
          show(sessions, table(['history.by', 'sessions.remote', 'history.time', 'sessions.expires', ''], s.sessions, (x) => [
            h('span', {}, person(x.user) || x.display_name, x.kiosk ? h('span', { class: 'chip', text: t('sessions.kiosk') }) : null, x.current ? h('span', { class: 'chip', text: t('sessions.current') }) : null),
            x.remote || '', fmtShort(x.created), fmtShort(x.expires),
            x.current ? '' : h('button', { type: 'button', class: 'end', text: t('sessions.end'), onclick: async () => {
              try { await api('DELETE', '/api/sessions/' + encodeURIComponent(x.id)); load(); } catch (err) { toast(err.message, true); }
            } })], 'sessions'));
        }
      } catch (err) { if (!err.network) show(list, h('div', { class: 'empty', text: err.message })); }
    };
    await load();
  }

  // ---- the floor plan: devices where they are, alarming ones blinking ----
  async function pagePlan() {
    const body = h('div', { id: 'plan' });
    const side = h('aside', { id: 'plan-side', class: 'panel hidden' });
    show(main, h('h1', {}, t('plan.title'), h('span', { class: 'summary' },
      h('span', { class: 'chip dev-alarm', text: t('plan.legend_alarm') }), h('span', { class: 'chip dev-ok', text: t('plan.legend_ok') }),
      h('span', { class: 'chip dev-offline', text: t('plan.legend_offline') }))), h('div', { class: 'plan-layout' }, body, side));
    let health = new Map();
    let selected = null;
    const state = (id) => {
      const alarms = [...active.values()].filter((a) => a.device === id);
      const hs = health.get(id);
      if (alarms.some((a) => a.state === 'firing')) return 'alarm';
      if (alarms.length) return 'acked';
      if (hs && (hs.status === 'offline' || hs.tamper || hs.fault)) return 'offline';
      return 'ok';
    };
    const marker = (d, positioned) => h('button', { type: 'button', class: 'dev dev-' + state(d.id) + (positioned ? ' pin' : ''), id: 'dev-' + d.id,
      style: positioned ? { left: d.position.x + '%', top: d.position.y + '%' } : undefined, title: d.location || d.name, dataset: { device: d.id },
      onclick: () => { selected = d.id; renderSide(); } }, h('span', { class: 'dot' }), h('span', { class: 'label', text: d.name || d.id }));
    const planBox = (title, url, devs) => {
      const pinned = devs.filter((d) => d.position);
      const loose = devs.filter((d) => !d.position);
      return h('section', { class: 'floor' }, h('h2', { text: title }),
        h('div', { class: 'plan-wrap' }, h('img', { class: 'plan-img', src: url, alt: title }), pinned.map((d) => marker(d, true))),
        loose.length ? h('div', { class: 'schematic' }, loose.map((d) => marker(d, false))) : null);
    };
    const schematic = (title, devs, cls) => h('section', { class: 'floor schematic-floor ' + (cls || '') }, h('h2', { text: title }),
      h('div', { class: 'schematic' }, devs.length ? devs.map((d) => marker(d, false)) : h('span', { class: 'muted', text: t('devices.empty') })));
    function render() {
      const devs = [...siteInfo.devices.values()];
      const out = [];
      let anyPlan = !!siteInfo.plan;
      // A device goes on its floor's plan; else, with a position, on the campus plan;
      // else into a schematic of its building and floor.
      const onCampus = (d) => siteInfo.plan && d.position && !(d.floor && (((siteInfo.buildings.get(d.building) || {}).floors || []).find((f) => f.id === d.floor) || {}).plan);
      for (const b of siteInfo.buildings.values()) {
        const inB = devs.filter((d) => d.building === b.id && !onCampus(d));
        const floors = b.floors || [];
        for (const f of floors.slice().reverse()) {
          const onF = inB.filter((d) => d.floor === f.id);
          const title = b.name + ' · ' + (f.name || f.id);
          if (f.plan) { anyPlan = true; out.push(planBox(title, f.plan, onF)); } else if (onF.length) out.push(schematic(title, onF));
        }
        const noFloor = inB.filter((d) => !d.floor || !floors.some((f) => f.id === d.floor));
        if (noFloor.length) out.push(schematic(b.name + (floors.length ? ' · ' + t('plan.no_floor') : ''), noFloor));
      }
      const outdoor = devs.filter((d) => onCampus(d) || !d.building || !siteInfo.buildings.has(d.building));
      if (siteInfo.plan) out.unshift(planBox(t('plan.campus'), siteInfo.plan, outdoor));
      else if (outdoor.length) out.push(schematic(t('plan.outdoor'), outdoor, 'outdoor'));
      // the floors with an alarm first
      const hot = (sec) => (sec.querySelector('.dev-alarm') ? 0 : sec.querySelector('.dev-acked') ? 1 : 2);
      out.sort((x, y) => hot(x) - hot(y));
      show(body, anyPlan ? null : h('p', { class: 'muted', id: 'plan-schematic-note', text: t('plan.schematic') }),
        out.length ? out : h('div', { class: 'empty', text: t('devices.empty') }));
      renderSide();
    }
    function renderSide() {
      side.classList.toggle('hidden', !selected);
      if (!selected) return;
      const d = siteInfo.devices.get(selected) || { id: selected };
      const alarms = [...active.values()].filter((a) => a.device === selected).sort(byUrgency);
      show(side, h('div', { class: 'row' }, h('h2', { text: tf('plan.device_alarms', d.name || d.id) }),
        h('button', { type: 'button', class: 'close', text: '×', onclick: () => { selected = null; renderSide(); } })),
      h('p', { class: 'muted', text: [d.location, zoneName(d.zone)].filter(Boolean).join(' · ') }),
      alarms.length ? h('div', { class: 'alarms' }, alarms.map(alarmCard)) : h('p', { class: 'empty', text: t('plan.no_alarms') }),
      h('p', {}, h('a', { href: '/history?device=' + encodeURIComponent(selected), text: t('nav.history') })));
    }
    hooks.changed = render;
    const loadHealth = async () => {
      try { const r = await api('GET', '/api/devices'); health = new Map(r.devices.map((d) => [d.device, d])); render(); } catch (e) { /* keep */ }
    };
    await siteLoaded;
    render();
    loadHealth();
    setInterval(loadHealth, 30000);
  }

  // ---- the shift report, printable for the handover ----
  async function pageReport() {
    const pad = (n) => String(n).padStart(2, '0');
    const local = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
    const now = new Date();
    const from = h('input', { type: 'datetime-local', name: 'from', value: local(new Date(now - 12 * 3600e3)) });
    const to = h('input', { type: 'datetime-local', name: 'to', value: local(now) });
    const body = h('div', { id: 'shift-report' });
    const form = h('form', { class: 'filters no-print', id: 'report-form' },
      h('label', {}, t('report.from'), from), h('label', {}, t('report.to'), to),
      h('button', { type: 'submit', class: 'primary', text: t('report.load') }),
      h('button', { type: 'button', text: t('report.print'), onclick: () => window.print() }));
    show(main, h('h1', {}, t('report.title'), h('span', { class: 'muted print-only', text: boot.site || '' })), form, body);
    const iso = (v) => new Date(v).toISOString();
    const isoEnd = (v) => new Date(new Date(v).getTime() + 59999).toISOString(); // the whole last minute
    const mins = (a) => {
      const f = validDate(a.fired_at), k = validDate(a.acked_at);
      if (!f || !k) return '';
      const s = Math.max(0, Math.round((k - f) / 1000));
      return durationText((s >= 3600 ? Math.floor(s / 3600) + 'h' : '') + (s % 3600 >= 60 ? Math.floor(s % 3600 / 60) + 'm' : '') + (s % 60) + 's');
    };
    const load = async () => {
      const q = 'from=' + encodeURIComponent(iso(from.value)) + '&to=' + encodeURIComponent(isoEnd(to.value)) + '&limit=1000';
      let alarms = [], devs = null, patrols = [];
      try { alarms = (await api('GET', '/api/alarms?' + q)).alarms; } catch (e) { show(body, h('div', { class: 'empty', text: e.message })); return; }
      try { devs = await api('GET', '/api/devices'); } catch (e) { /* optional */ }
      const days = [...new Set([dayOf(new Date(from.value)), dayOf(new Date(to.value))])];
      for (const d of days) { try { patrols.push(await api('GET', '/api/patrol/report?date=' + d)); } catch (e) { /* optional */ } }
      const crit = alarms.filter(critical).length;
      const reset = alarms.filter(resolvedByPerson).length;
      const trouble = devs ? devs.devices.filter((d) => d.status === 'offline' || d.tamper || d.fault) : [];
      const open = [...active.values()].sort(byUrgency);
      const rounds = patrols.reduce((n, p) => n + (p.totals ? p.totals.completed : 0), 0);
      const planned = patrols.reduce((n, p) => n + (p.totals ? p.totals.runs : 0), 0);
      show(body,
        h('p', { class: 'report-range', text: fmt(iso(from.value)) + ' — ' + fmt(isoEnd(to.value)) }),
        h('p', { class: 'summary' }, h('span', { class: 'chip', text: tf('report.summary', alarms.length, crit, reset) }),
          h('span', { class: 'chip', text: tf('report.rounds', rounds, planned) })),
        h('h2', { text: t('report.alarms') }),
        table(['alarm.fired_at', 'alarm.severity', 'alarm.message', 'alarm.location', 'alarm.state', 'history.who', 'report.response', 'alarm.note'], alarms, (a) => [
          fmt(a.fired_at), sevBadge(a.severity), msgText(a), where(a), stateBadge(a),
          [person(a.acked_by), resolvedByPerson(a) && a.resolved_by !== a.acked_by ? person(a.resolved_by) : ''].filter(Boolean).join('、'),
          mins(a), [a.ack_note, resolvedByPerson(a) ? a.reason : note(a.reason)].filter(Boolean).join('；')], 'report-alarms'),
        h('h2', { text: t('report.open') }),
        open.length ? table(['alarm.fired_at', 'alarm.severity', 'alarm.message', 'alarm.location', 'alarm.state'], open, (a) => [fmt(a.fired_at), sevBadge(a.severity), msgText(a), where(a), stateBadge(a)], 'report-open')
          : h('p', { text: t('report.none') }),
        h('h2', { text: t('report.patrol') }),
        patrols.length ? patrols.map((p) => [h('h3', { text: p.date || '' }), patrolReport(p)]) : h('p', { text: t('unavailable') }),
        h('h2', { text: t('report.faults') }),
        trouble.length ? table(['alarm.device', 'alarm.location', 'devices.status'], trouble, (d) => [d.name || d.device, d.location || '',
          d.status === 'offline' ? t('devices.offline') : d.tamper ? t('devices.tamper') : t('devices.fault')], 'report-faults') : h('p', { text: t('report.none') }),
        h('p', { class: 'sign', text: t('report.sign') }));
    };
    form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
    await siteLoaded;
    await load();
  }

  // ---- start ----
  const siteLoaded = api('GET', '/api/site').then((s) => {
    siteInfo.plan = s.plan || '';
    for (const b of s.buildings) siteInfo.buildings.set(b.id, b);
    for (const z of s.zones) siteInfo.zones.set(z.id, z);
    for (const d of s.devices) siteInfo.devices.set(d.id, d);
    Object.assign(people, s.people || {});
    siteInfo.loaded = true;
    changed();
  }, () => {});
  window.cgConsole = { sound, active, live, takeover, note, lost };
  const pages = { alarms: pageAlarms, detail: pageDetail, history: pageHistory, devices: pageDevices, patrols: pagePatrols,
    silences: pageSilences, plan: pagePlan, report: pageReport, link: pageLink };
  document.getElementById('sound-banner').addEventListener('click', unlock);
  document.body.dataset.sound = 'off';
  setLive(false);
  (pages[boot.page] || pageAlarms)();
  connect();
})();
