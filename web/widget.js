/*!
 * libchat customer widget: one self-contained file, plain JavaScript (ES2019), no dependencies.
 *
 *   <script src="{base}/widget.js" data-key="pk_..." data-api="{base}" async></script>
 *
 * It talks only to data-api: GET /v1/public/widget/{pk} (config), /v1/sdk/* (session, history, messages,
 * read), POST /v1/ws/ticket and the WebSocket /v1/ws. Every request carries credentials in headers
 * (X-API-Key + Authorization: Bearer <session token>), never cookies, so the page may be on any origin.
 * The session is kept in localStorage["libchat:<pk>"] = {token, conversation_id, customer_id, last_seq}
 * so that a reload continues the conversation. All server text is rendered with textContent.
 *
 * Page API: window.LibChat = {open(), close(), toggle(), on(event, fn), off(event, fn)}; events:
 * ready, open, close, message (a Message), unread (count), state ("connecting"|"online"|"offline"), session.
 */
(function () {
  'use strict';

  var script = document.currentScript || document.querySelector('script[data-key][src*="widget.js"]');
  if (!script) return;
  var PK = (script.getAttribute('data-key') || '').trim();
  if (!PK) {
    if (window.console) console.error('[libchat] the widget script needs data-key="pk_\u2026"');
    return;
  }
  if (document.getElementById('libchat-widget') || (window.LibChat && window.LibChat.__libchat)) return;
  var API = apiBase(script);
  var STORAGE_KEY = 'libchat:' + PK;

  var HISTORY_PAGE = 200;
  var SEND_MAX_ATTEMPTS = 6;      // then the message shows "not sent" with a retry
  var TYPING_THROTTLE_MS = 3000;  // at most one "start" per interval while the customer types
  var TYPING_IDLE_MS = 3000;      // "stop" after this long without a keystroke
  var TYPING_SHOW_MS = 6000;      // hide somebody's "is typing" without a stop after this long
  var RECONNECT_MIN_MS = 500;
  var RECONNECT_MAX_MS = 30000;
  var REQUEST_TIMEOUT_MS = 20000;

  function apiBase(el) {
    var api = (el.getAttribute('data-api') || '').trim();
    if (!api) {
      try { api = new URL(el.src, location.href).origin; } catch (e) { api = location.origin; }
    }
    return api.replace(/\/+$/, '');
  }

  // ---------------------------------------------------------------------------------------------------------
  // Small utilities

  function uuid() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === 'function') return c.randomUUID();
    var b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  function backoffMs(attempt, min, max) {
    var ceiling = Math.min(max, min * Math.pow(2, Math.max(0, attempt)));
    return Math.round(ceiling / 2 + Math.random() * ceiling / 2);  // "equal jitter": never 0, never > ceiling
  }

  // A sleep that wake() ends early (the network came back, the customer pressed retry).
  var sleepers = new Set();
  function sleep(ms) {
    return new Promise(function (resolve) {
      var entry = null;
      var timer = setTimeout(function () { sleepers.delete(entry); resolve(); }, ms);
      entry = function () { clearTimeout(timer); sleepers.delete(entry); resolve(); };
      sleepers.add(entry);
    });
  }
  function wakeSleepers() { Array.from(sleepers).forEach(function (wake) { wake(); }); }

  function isObject(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }
  function str(v, fallback) { return typeof v === 'string' ? v : (fallback === undefined ? '' : fallback); }

  var memoryStore = {};
  var storage = {
    get: function (key) {
      try { return window.localStorage.getItem(key); } catch (e) { return memoryStore[key] === undefined ? null : memoryStore[key]; }
    },
    set: function (key, value) {
      try { window.localStorage.setItem(key, value); } catch (e) { memoryStore[key] = value; }
    },
    remove: function (key) {
      try { window.localStorage.removeItem(key); } catch (e) { delete memoryStore[key]; }
    }
  };

  function parseSession(raw) {
    if (!raw) return null;
    try {
      var s = JSON.parse(raw);
      if (!isObject(s) || typeof s.token !== 'string' || !s.token || typeof s.conversation_id !== 'string' ||
          !s.conversation_id) {
        return null;
      }
      return {
        token: s.token,
        conversation_id: s.conversation_id,
        customer_id: str(s.customer_id),
        last_seq: typeof s.last_seq === 'number' && s.last_seq >= 0 ? Math.floor(s.last_seq) : 0
      };
    } catch (e) {
      return null;
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Events for the page

  var listeners = {};
  function emit(name, payload) {
    (listeners[name] || []).slice().forEach(function (fn) {
      try { fn(payload); } catch (e) { if (window.console) console.error('[libchat] listener for "' + name + '" threw', e); }
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // HTTP

  function HttpError(status, code, message, retryAfterMs) {
    this.name = 'HttpError';
    this.status = status;  // 0: no response (network, timeout, CORS)
    this.code = code || '';
    this.message = message || ('HTTP ' + status);
    this.retryAfterMs = retryAfterMs || 0;
  }
  HttpError.prototype = Object.create(Error.prototype);

  function retryable(err) {
    var s = err && err.status;
    return s === 0 || s === 408 || s === 429 || s === 502 || s === 503 || s === 504 || s === 500;
  }

  // opts: {body, auth (default true), headers}
  function request(method, path, opts) {
    opts = opts || {};
    var headers = {};
    if (opts.apiKey !== false) headers['X-API-Key'] = PK;
    var token = null;
    if (opts.auth !== false && state.session) {
      token = state.session.token;
      headers.Authorization = 'Bearer ' + token;
    }
    var init = { method: method, headers: headers, mode: 'cors', credentials: 'omit', cache: 'no-store' };
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    var controller = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = null;
    if (controller) {
      init.signal = controller.signal;
      timer = setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
    }
    return fetch(API + path, init).then(function (res) {
      return res.text().then(function (text) {
        if (timer) clearTimeout(timer);
        var data = null;
        if (text) { try { data = JSON.parse(text); } catch (e) { data = null; } }
        if (res.ok) return data;
        var err = data && isObject(data.error) ? data.error : {};
        var retryAfter = parseFloat(res.headers.get('Retry-After') || '');
        var e = new HttpError(res.status, str(err.code), str(err.message, 'HTTP ' + res.status),
                              isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 0);
        // The stored session token was refused: it expired or was revoked. Start over with a new session.
        if (res.status === 401 && token && state.session && state.session.token === token) dropSession();
        throw e;
      });
    }, function (cause) {
      if (timer) clearTimeout(timer);
      throw new HttpError(0, 'network', 'network error: ' + (cause && cause.message ? cause.message : cause));
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // State

  var state = {
    config: null,
    session: null,          // as stored
    conversation: null,     // the last Conversation object seen
    bySeq: new Map(),       // seq -> {msg, el}
    maxSeq: 0,              // highest seq rendered in this page
    pending: new Map(),     // client_msg_id -> outbox item (not yet acknowledged)
    outbox: [],             // items waiting to be sent, in order
    pumping: false,
    prechatAnswers: null,   // {id: answer} once the prechat form was submitted
    open: false,
    unread: 0,
    readSeq: 0,             // the server's read_seq for the customer, as far as we know
    readTimer: null,
    connState: 'offline',
    generation: 0,          // bumped when the session is dropped: stale async work checks it
    historyLoaded: false,
    wsEverOnline: false
  };

  var ws = {
    socket: null,
    attempt: 0,
    timer: null,
    keepalive: null,
    heartbeatMs: 25000,
    pingSentAt: 0,
    lastFrameAt: 0,
    nextId: 1,
    subscribeId: null,
    connecting: false,
    shutdownDelay: 0
  };

  var typingOut = { active: false, lastStart: 0, idleTimer: null };
  var typers = new Map();  // sender id -> {sender, timer}

  // ---------------------------------------------------------------------------------------------------------
  // DOM

  var ui = {};

  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'text') el.textContent = v;
        else if (k === 'className') el.className = v;
        else el.setAttribute(k, v === true ? '' : String(v));
      });
    }
    (children || []).forEach(function (c) { if (c) el.appendChild(c); });
    return el;
  }

  var CSS = [
    ':host{all:initial;}',
    '*,*::before,*::after{box-sizing:border-box;}',
    '[hidden]{display:none !important;}',
    '.root{--lc-accent:#2563eb;--lc-on-accent:#fff;--lc-bg:#fff;--lc-fg:#111827;--lc-muted:#6b7280;',
    '  --lc-soft:#f3f4f6;--lc-border:#e5e7eb;--lc-bot:#f5f3ff;--lc-bot-border:#ddd6fe;',
    '  font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--lc-fg);',
    '  position:fixed;bottom:20px;right:20px;z-index:2147483000;}',
    '.root.left{right:auto;left:20px;}',
    'button{font:inherit;cursor:pointer;}',
    '.launcher{position:relative;width:56px;height:56px;border-radius:50%;border:0;background:var(--lc-accent);',
    '  color:var(--lc-on-accent);box-shadow:0 6px 20px rgba(0,0,0,.22);display:flex;align-items:center;',
    '  justify-content:center;transition:transform .15s ease;margin-left:auto;}',
    '.root.left .launcher{margin-left:0;}',
    '.launcher:hover{transform:scale(1.06);}',
    '.launcher:focus-visible,.icon-btn:focus-visible,.send:focus-visible,.prechat button:focus-visible{',
    '  outline:3px solid var(--lc-accent);outline-offset:2px;}',
    '.launcher svg{width:26px;height:26px;fill:currentColor;}',
    '.launcher .close-icon{display:none;}',
    '.root.open .launcher .chat-icon{display:none;}',
    '.root.open .launcher .close-icon{display:block;}',
    '.badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;',
    '  background:#dc2626;color:#fff;font-size:12px;font-weight:600;line-height:20px;text-align:center;',
    '  box-shadow:0 0 0 2px #fff;}',
    '.panel{position:absolute;bottom:72px;right:0;width:370px;height:560px;max-height:calc(100vh - 110px);',
    '  background:var(--lc-bg);border-radius:16px;box-shadow:0 12px 48px rgba(0,0,0,.25);display:flex;',
    '  flex-direction:column;overflow:hidden;animation:lc-in .18s ease-out;}',
    '.root.left .panel{right:auto;left:0;}',
    '@keyframes lc-in{from{opacity:0;transform:translateY(12px);}to{opacity:1;transform:none;}}',
    '@media (prefers-reduced-motion:reduce){.panel{animation:none;}.launcher{transition:none;}}',
    '@media (max-width:480px){.panel{position:fixed;inset:0;width:auto;height:auto;max-height:none;border-radius:0;}',
    '  .root.open .launcher{display:none;}}',
    '.header{background:var(--lc-accent);color:var(--lc-on-accent);padding:14px 14px 14px 16px;display:flex;',
    '  align-items:center;gap:10px;flex:none;}',
    '.logo{width:32px;height:32px;border-radius:8px;object-fit:cover;background:rgba(255,255,255,.2);flex:none;}',
    '.titles{flex:1;min-width:0;}',
    '.title{font-size:16px;font-weight:600;margin:0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;}',
    '.subtitle{font-size:12px;opacity:.85;display:flex;align-items:center;gap:6px;}',
    '.dot{width:8px;height:8px;border-radius:50%;background:#9ca3af;flex:none;}',
    '.panel[data-state=online] .dot{background:#22c55e;}',
    '.panel[data-state=connecting] .dot{background:#f59e0b;}',
    '.icon-btn{border:0;background:transparent;color:inherit;width:32px;height:32px;border-radius:8px;',
    '  display:flex;align-items:center;justify-content:center;}',
    '.icon-btn:hover{background:rgba(255,255,255,.18);}',
    '.icon-btn svg{width:18px;height:18px;fill:currentColor;}',
    '.body{flex:1;overflow-y:auto;padding:16px 14px 8px;background:#fafafa;display:flex;flex-direction:column;gap:10px;}',
    '.welcome{background:var(--lc-bg);border:1px solid var(--lc-border);border-radius:12px;padding:10px 12px;',
    '  white-space:pre-wrap;overflow-wrap:anywhere;}',
    '.prechat{background:var(--lc-bg);border:1px solid var(--lc-border);border-radius:12px;padding:12px;',
    '  display:flex;flex-direction:column;gap:10px;}',
    '.prechat label{display:flex;flex-direction:column;gap:4px;font-size:13px;color:var(--lc-muted);}',
    '.prechat .req{color:#dc2626;}',
    '.prechat input,.prechat textarea{font:inherit;color:var(--lc-fg);padding:8px 10px;border:1px solid var(--lc-border);',
    '  border-radius:8px;background:#fff;}',
    '.prechat input:focus,.prechat textarea:focus,.composer textarea:focus{outline:2px solid var(--lc-accent);',
    '  outline-offset:-1px;border-color:transparent;}',
    '.prechat [aria-invalid=true]{border-color:#dc2626;}',
    '.prechat .err{color:#dc2626;font-size:12px;min-height:0;}',
    '.prechat button{border:0;border-radius:8px;padding:9px 12px;background:var(--lc-accent);color:var(--lc-on-accent);',
    '  font-weight:600;}',
    '.messages{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:6px;}',
    '.libchat-msg{display:flex;flex-direction:column;max-width:82%;align-self:flex-start;}',
    '.libchat-msg::before{content:attr(data-name);font-size:11px;color:var(--lc-muted);margin:0 0 2px 4px;}',
    '.libchat-msg[data-sender-type=customer]{align-self:flex-end;align-items:flex-end;}',
    '.libchat-msg[data-sender-type=customer]::before{content:none;}',
    // consecutive messages of the same kind of sender show the name once
    '.libchat-msg[data-sender-type=bot]+.libchat-msg[data-sender-type=bot]::before,',
    '.libchat-msg[data-sender-type=account]+.libchat-msg[data-sender-type=account]::before,',
    '.libchat-msg[data-sender-type=operator]+.libchat-msg[data-sender-type=operator]::before{content:none;}',
    '.libchat-msg[data-sender-type=system]{align-self:center;max-width:92%;}',
    '.libchat-msg[data-sender-type=system]::before{content:none;}',
    '.libchat-msg::after{content:attr(data-meta);font-size:11px;color:var(--lc-muted);margin:2px 4px 0;}',
    '.bubble{padding:8px 12px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere;',
    '  background:var(--lc-bg);border:1px solid var(--lc-border);border-bottom-left-radius:4px;}',
    '.libchat-msg[data-sender-type=customer] .bubble{background:var(--lc-accent);color:var(--lc-on-accent);',
    '  border-color:transparent;border-bottom-left-radius:14px;border-bottom-right-radius:4px;}',
    '.libchat-msg[data-sender-type=bot] .bubble{background:var(--lc-bot);border-color:var(--lc-bot-border);}',
    '.libchat-msg[data-sender-type=system] .bubble{background:transparent;border:0;color:var(--lc-muted);',
    '  font-size:12px;text-align:center;padding:2px 8px;}',
    '.libchat-msg[data-state=pending] .bubble{opacity:.65;}',
    '.libchat-msg[data-state=error] .bubble{opacity:1;background:#fef2f2;color:#991b1b;border-color:#fecaca;cursor:pointer;}',
    '.libchat-msg[data-state=error]::after{color:#b91c1c;}',
    '.libchat-msg[data-deleted=true] .bubble{font-style:italic;opacity:.7;}',
    '.note{align-self:center;font-size:12px;color:var(--lc-muted);text-align:center;}',
    '.typing{font-size:12px;color:var(--lc-muted);padding:0 16px 6px;background:#fafafa;flex:none;}',
    '.typing::after{content:"";display:inline-block;width:1.2em;text-align:left;animation:lc-dots 1.2s steps(4,end) infinite;}',
    '@keyframes lc-dots{0%{content:"";}25%{content:".";}50%{content:"..";}75%{content:"...";}}',
    '.banner{font-size:12px;text-align:center;padding:4px 8px;background:#fffbeb;color:#92400e;flex:none;}',
    '.composer{display:flex;align-items:flex-end;gap:8px;padding:10px 12px;border-top:1px solid var(--lc-border);',
    '  background:var(--lc-bg);flex:none;}',
    '.composer textarea{flex:1;font:inherit;color:var(--lc-fg);resize:none;border:1px solid var(--lc-border);',
    '  border-radius:10px;padding:8px 10px;max-height:120px;min-height:38px;line-height:1.4;background:#fff;}',
    '.send{border:0;border-radius:10px;width:40px;height:38px;background:var(--lc-accent);color:var(--lc-on-accent);',
    '  display:flex;align-items:center;justify-content:center;flex:none;}',
    '.send:disabled{opacity:.45;cursor:default;}',
    '.send svg{width:18px;height:18px;fill:currentColor;}',
    '.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;}'
  ].join('\n');

  function svg(path) {
    var ns = 'http://www.w3.org/2000/svg';
    var el = document.createElementNS(ns, 'svg');
    el.setAttribute('viewBox', '0 0 24 24');
    el.setAttribute('aria-hidden', 'true');
    el.setAttribute('focusable', 'false');
    var p = document.createElementNS(ns, 'path');
    p.setAttribute('d', path);
    el.appendChild(p);
    return el;
  }
  var ICON_CHAT = 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8.4L4 21.5V18a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 ' +
      '0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z';
  var ICON_CLOSE = 'M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 1 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 ' +
      '4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z';
  var ICON_MINUS = 'M5 11h14a1 1 0 1 1 0 2H5a1 1 0 1 1 0-2z';
  var ICON_SEND = 'M3.4 20.4 21 12 3.4 3.6 3.4 10.1 15 12 3.4 13.9z';

  function onAccent(hex) {
    var m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || '');
    if (!m) return '#fff';
    var lin = [1, 2, 3].map(function (i) {
      var c = parseInt(m[i], 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var l = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
    return l > 0.45 ? '#111827' : '#fff';
  }

  function mount() {
    var cfg = state.config;
    var w = cfg.widget;
    var host = h('div', { id: 'libchat-widget' });
    var shadow = host.attachShadow({ mode: 'open' });
    shadow.appendChild(h('style', { text: CSS }));

    var panelId = 'libchat-panel';
    var titleId = 'libchat-title';

    ui.badge = h('span', { className: 'badge', 'data-testid': 'libchat-badge', 'aria-hidden': 'true', hidden: true });
    ui.launcher = h('button', {
      type: 'button', className: 'launcher', 'data-testid': 'libchat-launcher', 'aria-label': 'Open chat: ' + w.title,
      'aria-expanded': 'false', 'aria-controls': panelId
    }, [svg(ICON_CHAT), svg(ICON_CLOSE), ui.badge]);
    ui.launcher.querySelector('svg').classList.add('chat-icon');
    ui.launcher.querySelectorAll('svg')[1].classList.add('close-icon');

    ui.logo = null;
    if (/^https?:\/\/[^\s"'<>]+$/i.test(w.logo_url || '')) {
      ui.logo = h('img', { className: 'logo', src: w.logo_url, alt: '', referrerpolicy: 'no-referrer' });
      ui.logo.addEventListener('error', function () { ui.logo.hidden = true; });
    }
    ui.title = h('h2', { className: 'title', id: titleId, text: w.title });
    ui.statusText = h('span', { text: cfg.app_name || '' });
    ui.subtitle = h('div', { className: 'subtitle' }, [h('span', { className: 'dot', 'aria-hidden': 'true' }), ui.statusText]);
    ui.minimize = h('button', { type: 'button', className: 'icon-btn', 'aria-label': 'Close chat' }, [svg(ICON_MINUS)]);
    var header = h('div', { className: 'header' }, [ui.logo, h('div', { className: 'titles' }, [ui.title, ui.subtitle]),
                                                   ui.minimize]);

    ui.welcome = h('div', { className: 'welcome', 'data-testid': 'libchat-welcome', text: w.welcome_text });
    if (!w.welcome_text) ui.welcome.hidden = true;
    ui.prechat = buildPrechat(w.prechat);
    ui.messages = h('ol', {
      className: 'messages', 'data-testid': 'libchat-messages', role: 'log', 'aria-live': 'polite',
      'aria-relevant': 'additions text', 'aria-label': 'Messages'
    });
    ui.note = h('div', { className: 'note', role: 'status', hidden: true });
    ui.body = h('div', { className: 'body' }, [ui.welcome, ui.prechat, ui.messages, ui.note]);
    ui.typing = h('div', { className: 'typing', 'data-testid': 'libchat-typing', 'aria-live': 'polite', hidden: true });
    ui.banner = h('div', { className: 'banner', role: 'status', hidden: true });

    ui.input = h('textarea', {
      'data-testid': 'libchat-input', rows: '1', placeholder: 'Write a message\u2026', 'aria-label': 'Message',
      maxlength: '32000', enterkeyhint: 'send'
    });
    ui.send = h('button', { type: 'button', className: 'send', 'data-testid': 'libchat-send', 'aria-label': 'Send message',
                           disabled: true }, [svg(ICON_SEND)]);
    ui.composer = h('div', { className: 'composer' }, [ui.input, ui.send]);

    ui.panel = h('div', {
      id: panelId, className: 'panel', 'data-testid': 'libchat-panel', role: 'dialog', 'aria-modal': 'false',
      'aria-labelledby': titleId, 'data-state': state.connState, hidden: true
    }, [header, ui.banner, ui.body, ui.typing, ui.composer]);

    ui.root = h('div', { className: 'root' + (w.position === 'left' ? ' left' : '') }, [ui.panel, ui.launcher]);
    ui.root.style.setProperty('--lc-accent', w.color);
    ui.root.style.setProperty('--lc-on-accent', onAccent(w.color));
    shadow.appendChild(ui.root);

    ui.launcher.addEventListener('click', function () { toggle(); });
    ui.minimize.addEventListener('click', function () { close(true); });
    ui.root.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && state.open) {
        e.stopPropagation();
        close(true);
      }
    });
    ui.input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        submitComposer();
      }
    });
    ui.input.addEventListener('input', function () {
      autosize();
      ui.send.disabled = !ui.input.value.trim();
      onCustomerTyping();
    });
    ui.input.addEventListener('blur', function () { stopTyping(); });
    ui.send.addEventListener('click', function () { submitComposer(); ui.input.focus(); });

    showPrechatIfNeeded();
    (document.body || document.documentElement).appendChild(host);
  }

  function buildPrechat(questions) {
    var form = h('form', { className: 'prechat', 'data-testid': 'libchat-prechat', novalidate: true, hidden: true,
                           'aria-label': 'Before we start' });
    if (!questions.length) return form;
    ui.prechatFields = [];
    questions.forEach(function (q) {
      var fieldId = 'libchat-q-' + q.id;
      var control;
      if (q.type === 'textarea') {
        control = h('textarea', { id: fieldId, name: q.id, rows: '3', required: q.required, maxlength: '2000' });
      } else {
        control = h('input', { id: fieldId, name: q.id, type: q.type === 'email' ? 'email' : 'text', required: q.required,
                               maxlength: '500', autocomplete: q.type === 'email' || q.id === 'email' ? 'email'
                                                               : (q.id === 'name' ? 'name' : 'off') });
      }
      var caption = h('span', null, [document.createTextNode(q.label)]);
      if (q.required) caption.appendChild(h('span', { className: 'req', 'aria-hidden': 'true', text: ' *' }));
      var label = h('label', { for: fieldId }, [caption, control]);
      control.addEventListener('input', function () {
        if (control.getAttribute('aria-invalid') !== 'true') return;
        control.setAttribute('aria-invalid', 'false');
        ui.prechatError.textContent = '';
      });
      form.appendChild(label);
      ui.prechatFields.push({ q: q, control: control });
    });
    ui.prechatError = h('div', { className: 'err', role: 'alert' });
    form.appendChild(ui.prechatError);
    form.appendChild(h('button', { type: 'submit', 'data-testid': 'libchat-prechat-submit', text: 'Start chat' }));
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      submitPrechat();
    });
    return form;
  }

  function needsPrechat() {
    return !state.session && !state.prechatAnswers && state.config.widget.prechat.length > 0;
  }

  function showPrechatIfNeeded() {
    var show = needsPrechat();
    ui.prechat.hidden = !show;
    ui.composer.hidden = show;
  }

  var EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

  function submitPrechat() {
    var answers = {};
    var firstBad = null;
    var problem = '';
    ui.prechatFields.forEach(function (f) {
      var value = f.control.value.trim();
      var bad = (f.q.required && !value) ? 'Please fill in \u201c' + f.q.label + '\u201d.'
          : (value && f.q.type === 'email' && !EMAIL_RE.test(value)) ? 'Please enter a valid email address.' : '';
      f.control.setAttribute('aria-invalid', bad ? 'true' : 'false');
      if (bad && !firstBad) { firstBad = f.control; problem = bad; }
      if (value) answers[f.q.id] = value;
    });
    ui.prechatError.textContent = problem;
    if (firstBad) {
      firstBad.focus();
      return;
    }
    state.prechatAnswers = answers;
    showPrechatIfNeeded();
    ui.input.focus();
    pump();  // a message written before (e.g. after a dropped session) waits for the answers
  }

  function autosize() {
    ui.input.style.height = 'auto';
    ui.input.style.height = Math.min(120, ui.input.scrollHeight + 2) + 'px';
  }

  function nearBottom() {
    return ui.body.scrollHeight - ui.body.scrollTop - ui.body.clientHeight < 80;
  }
  function scrollToBottom() { ui.body.scrollTop = ui.body.scrollHeight; }

  // ---------------------------------------------------------------------------------------------------------
  // Rendering messages

  function senderName(sender) {
    switch (sender && sender.type) {
      case 'customer': return 'You';
      case 'bot': return (state.config.bot && state.config.bot.name) || 'Bot';
      case 'system': return '';
      default: return 'Agent';
    }
  }

  function timeText(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    if (isNaN(d.getTime())) return '';
    try { return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }); } catch (e) { return ''; }
  }

  function makeMsgEl(senderType) {
    var bubble = h('div', { className: 'bubble' });
    return h('li', { className: 'libchat-msg', 'data-sender-type': senderType }, [bubble]);
  }

  // Brings an element up to date with a message (text and every attribute the contract names).
  function paint(el, msg) {
    var type = msg.sender && msg.sender.type ? msg.sender.type : 'system';
    el.setAttribute('data-sender-type', type);
    el.setAttribute('data-seq', String(msg.seq));
    el.setAttribute('data-id', msg.id || '');
    el.setAttribute('data-state', 'sent');
    el.setAttribute('data-name', senderName(msg.sender));
    el.classList.toggle('libchat-bot', type === 'bot');
    var bubble = el.firstChild;
    bubble.removeAttribute('role');
    bubble.removeAttribute('tabindex');
    bubble.removeAttribute('aria-label');
    if (msg.deleted) {
      el.setAttribute('data-deleted', 'true');
      bubble.textContent = 'message deleted';
    } else {
      el.removeAttribute('data-deleted');
      bubble.textContent = str(msg.text);
    }
    var meta = timeText(msg.created_at);
    if (msg.edited_at && !msg.deleted) meta = meta ? meta + ' \u00b7 edited' : 'edited';
    el.setAttribute('data-meta', meta);
  }

  // Keeps the list in seq order with not-yet-acknowledged messages after every acknowledged one.
  function placeBySeq(el, seq) {
    var children = ui.messages.children;
    for (var i = 0; i < children.length; i++) {
      var c = children[i];
      if (c === el) continue;
      var s = c.getAttribute('data-state') === 'pending' || c.getAttribute('data-state') === 'error'
          ? Infinity : Number(c.getAttribute('data-seq'));
      if (s > seq) {
        if (el.nextSibling !== c) ui.messages.insertBefore(el, c);
        return;
      }
    }
    if (ui.messages.lastChild !== el) ui.messages.appendChild(el);
  }

  function isValidMessage(m) {
    return isObject(m) && typeof m.seq === 'number' && m.seq >= 1 && isObject(m.sender);
  }

  // Every message from any source (history, send response, WebSocket) goes through here: deduplicated by seq,
  // matched to its optimistic copy by client_msg_id. Returns true when it was new.
  function ingest(msg, source) {
    if (!isValidMessage(msg) || !state.session || msg.conversation_id !== state.session.conversation_id) return false;
    var stick = nearBottom();
    var known = state.bySeq.get(msg.seq);
    if (known) {
      // Same message again (at-least-once delivery) or a newer version of it.
      if (source === 'update' || (msg.edited_at && msg.edited_at !== known.msg.edited_at) || (msg.deleted && !known.msg.deleted)) {
        known.msg = msg;
        paint(known.el, msg);
      }
      return false;
    }
    var el = null;
    var item = msg.client_msg_id ? state.pending.get(msg.client_msg_id) : null;
    if (item && msg.sender.type === 'customer') {
      state.pending.delete(msg.client_msg_id);
      item.done = true;
      el = item.el;
      var at = state.outbox.indexOf(item);
      if (at >= 0 && !(state.pumping && at === 0)) state.outbox.splice(at, 1);
    } else {
      el = makeMsgEl(msg.sender.type);
    }
    paint(el, msg);
    state.bySeq.set(msg.seq, { msg: msg, el: el });
    placeBySeq(el, msg.seq);
    if (msg.seq > state.maxSeq) {
      state.maxSeq = msg.seq;
      if (state.session.last_seq < msg.seq) {
        state.session.last_seq = msg.seq;
        saveSession();
      }
    }
    if (stick || msg.sender.type === 'customer') scrollToBottom();
    return true;
  }

  function onNewMessage(msg, live) {
    if (msg.sender.type !== 'customer') {
      clearTyper(msg.sender);
      if (live) {
        if (!state.open || document.hidden) {
          if (!msg.deleted) setUnread(state.unread + 1);
        } else {
          scheduleRead();
        }
      }
    }
    if (live) emit('message', msg);
  }

  function setUnread(n) {
    state.unread = Math.max(0, n);
    if (!ui.badge) return;
    ui.badge.textContent = String(state.unread);
    ui.badge.hidden = state.unread === 0;
    ui.launcher.setAttribute('aria-label', (state.open ? 'Close chat' : 'Open chat: ' + state.config.widget.title) +
                             (state.unread ? ' (' + state.unread + ' unread)' : ''));
    emit('unread', state.unread);
  }

  function showNote(text) {
    ui.note.textContent = text || '';
    ui.note.hidden = !text;
  }

  function applyConversation(conv) {
    if (!isObject(conv) || !state.session || conv.id !== state.session.conversation_id) return;
    state.conversation = conv;
    showNote(conv.status === 'resolved' ? 'This conversation was marked as resolved. Write to us again any time.' : '');
  }

  // ---------------------------------------------------------------------------------------------------------
  // Open / close / read

  function open() {
    if (!ui.panel) return;
    if (!state.open) {
      state.open = true;
      ui.panel.hidden = false;
      ui.root.classList.add('open');
      ui.launcher.setAttribute('aria-expanded', 'true');
      scrollToBottom();
      var first = !ui.prechat.hidden && ui.prechatFields ? ui.prechatFields[0].control : ui.input;
      setTimeout(function () { try { first.focus({ preventScroll: true }); } catch (e) { first.focus(); } }, 0);
      emit('open');
    }
    markAllRead();
  }

  function close(focusLauncher) {
    if (!ui.panel || !state.open) return;
    state.open = false;
    stopTyping();
    ui.panel.hidden = true;
    ui.root.classList.remove('open');
    ui.launcher.setAttribute('aria-expanded', 'false');
    setUnread(state.unread);
    if (focusLauncher) ui.launcher.focus();
    emit('close');
  }

  function toggle() { if (state.open) close(false); else open(); }

  function markAllRead() {
    setUnread(0);
    scheduleRead();
  }

  function scheduleRead() {
    if (state.readTimer || !state.session) return;
    state.readTimer = setTimeout(function () {
      state.readTimer = null;
      if (!state.session || !state.open || document.hidden) return;
      var seq = state.maxSeq;
      if (seq <= state.readSeq) return;
      var gen = state.generation;
      state.readSeq = seq;
      request('POST', '/v1/sdk/conversations/' + encodeURIComponent(state.session.conversation_id) + '/read',
              { body: { seq: seq } }).catch(function () {
        if (gen === state.generation && state.readSeq === seq) state.readSeq = 0;  // try again next time
      });
    }, 250);
  }

  document.addEventListener('visibilitychange', function () {
    if (document.hidden || !state.config) return;
    if (state.open) markAllRead();
    if (state.session && !ws.socket && !ws.connecting) reconnectNow();
  });
  window.addEventListener('online', function () {
    wakeSleepers();
    if (state.session && !ws.socket && !ws.connecting) reconnectNow();
  });

  // ---------------------------------------------------------------------------------------------------------
  // Session

  function saveSession() {
    if (!state.session) return;
    storage.set(STORAGE_KEY, JSON.stringify({
      token: state.session.token,
      conversation_id: state.session.conversation_id,
      customer_id: state.session.customer_id,
      last_seq: state.session.last_seq
    }));
  }

  // The server refused the stored token (or the conversation is gone): forget everything of it and go back to
  // the start. Messages still waiting to be sent stay in the outbox and go into the next session.
  function dropSession() {
    if (!state.session) return;
    state.generation++;
    state.session = null;
    state.conversation = null;
    storage.remove(STORAGE_KEY);
    closeSocket();
    clearTimeout(ws.timer);
    ws.timer = null;
    ws.attempt = 0;
    state.wsEverOnline = false;
    state.historyLoaded = false;
    state.bySeq.forEach(function (entry) { if (entry.el.parentNode) entry.el.parentNode.removeChild(entry.el); });
    state.bySeq.clear();
    state.maxSeq = 0;
    state.readSeq = 0;
    typers.forEach(function (t) { clearTimeout(t.timer); });
    typers.clear();
    renderTyping();
    showNote('');
    setUnread(0);
    setConnState('offline');
    if (ui.panel) showPrechatIfNeeded();
    emit('session', null);
  }

  function adoptSession(session) {
    state.session = session;
    state.generation++;
    saveSession();
    showPrechatIfNeeded();
    emit('session', { conversation_id: session.conversation_id, customer_id: session.customer_id });
  }

  var creating = null;
  function createSession() {
    if (creating) return creating;
    var answers = state.prechatAnswers || {};
    var customer = {};
    var questions = state.config.widget.prechat;
    questions.forEach(function (q) {
      var a = answers[q.id];
      if (!a) return;
      if (q.id === 'name') customer.name = a;
      else if (q.id === 'email' || (q.type === 'email' && !customer.email)) customer.email = a;
    });
    var body = { customer: customer };
    if (Object.keys(answers).length) body.metadata = { prechat: answers };
    creating = request('POST', '/v1/sdk/sessions', { body: body, auth: false }).then(function (res) {
      creating = null;
      if (!res || typeof res.session_token !== 'string' || !isObject(res.conversation)) {
        throw new HttpError(502, 'bad_response', 'unexpected response to POST /v1/sdk/sessions');
      }
      adoptSession({
        token: res.session_token,
        conversation_id: res.conversation.id,
        customer_id: isObject(res.customer) ? str(res.customer.id) : '',
        last_seq: 0
      });
      state.historyLoaded = true;  // a new conversation has none
      applyConversation(res.conversation);
      connect();
      return state.session;
    }, function (err) {
      creating = null;
      throw err;
    });
    return creating;
  }

  // Loads what the server has after what this page shows (everything on the first call), page by page.
  var fetching = null;
  function fetchMissed() {
    if (fetching) return fetching;
    if (!state.session) return Promise.resolve();
    var gen = state.generation;
    var id = encodeURIComponent(state.session.conversation_id);
    function page() {
      if (gen !== state.generation) return Promise.resolve();
      var after = state.maxSeq;
      return request('GET', '/v1/sdk/conversations/' + id + '/messages?after_seq=' + after + '&limit=' + HISTORY_PAGE)
          .then(function (res) {
            if (gen !== state.generation) return;
            var list = res && Array.isArray(res.data) ? res.data : [];
            var live = state.historyLoaded;
            list.forEach(function (m) {
              if (ingest(m, 'history')) onNewMessage(m, live);
            });
            var more = res && typeof res.has_more === 'boolean' ? res.has_more : list.length >= HISTORY_PAGE;
            if (more && list.length > 0 && state.maxSeq > after) return page();
          });
    }
    fetching = page().then(function () {
      fetching = null;
      if (gen === state.generation) state.historyLoaded = true;
    }, function (err) {
      fetching = null;
      throw err;
    });
    return fetching;
  }

  // A stored session: check it (and learn the read position), show the history, go live.
  function resume() {
    var gen = state.generation;
    var id = encodeURIComponent(state.session.conversation_id);
    request('GET', '/v1/sdk/conversations/' + id).then(function (conv) {
      if (gen !== state.generation) return;
      applyConversation(conv);
      if (conv && typeof conv.read_seq === 'number') state.readSeq = conv.read_seq;
      return fetchMissed().then(function () {
        if (gen !== state.generation) return;
        var unread = 0;
        state.bySeq.forEach(function (entry) {
          if (entry.msg.seq > state.readSeq && entry.msg.sender.type !== 'customer' && !entry.msg.deleted) unread++;
        });
        if (state.open && !document.hidden) markAllRead();
        else setUnread(unread);
        scrollToBottom();
      });
    }).catch(function (err) {
      if (gen !== state.generation) return;
      if (err.status === 404) {
        dropSession();  // the conversation is not (or no longer) this customer's
        return;
      }
      // Not reachable now: the WebSocket's resume and the catch-up after it fill the list once it is.
    }).then(function () {
      if (gen === state.generation && state.session) connect();
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // Sending (optimistic, in order, idempotent retries)

  function submitComposer() {
    var text = ui.input.value;
    if (!text.trim()) return;
    if (needsPrechat()) {
      showPrechatIfNeeded();
      return;
    }
    ui.input.value = '';
    ui.send.disabled = true;
    autosize();
    stopTyping();
    enqueue(text);
  }

  function enqueue(text) {
    var item = { text: text, cmid: uuid(), attempts: 0, resets: 0, done: false, el: makeMsgEl('customer') };
    item.el.setAttribute('data-state', 'pending');
    item.el.setAttribute('data-name', 'You');
    item.el.setAttribute('data-meta', 'Sending\u2026');
    item.el.firstChild.textContent = text;
    ui.messages.appendChild(item.el);
    scrollToBottom();
    state.pending.set(item.cmid, item);
    state.outbox.push(item);
    pump();
    return item;
  }

  function markFailed(item, err) {
    item.el.setAttribute('data-state', 'error');
    var why = err && err.status && err.status !== 0 && !retryable(err) && err.message ? err.message : 'Not sent';
    item.el.setAttribute('data-meta', why + ' \u00b7 tap to retry');
    var bubble = item.el.firstChild;
    bubble.setAttribute('role', 'button');
    bubble.setAttribute('tabindex', '0');
    bubble.setAttribute('aria-label', 'Not sent: ' + item.text + '. Retry');
    if (!item.retryBound) {
      item.retryBound = true;
      var retry = function (e) {
        if (item.el.getAttribute('data-state') !== 'error') return;
        if (e.type === 'keydown' && e.key !== 'Enter' && e.key !== ' ') return;
        e.preventDefault();
        item.attempts = 0;
        item.resets = 0;
        bubble.removeAttribute('role');
        bubble.removeAttribute('tabindex');
        bubble.removeAttribute('aria-label');
        item.el.setAttribute('data-state', 'pending');
        item.el.setAttribute('data-meta', 'Sending\u2026');
        if (item.el !== ui.messages.lastChild) ui.messages.appendChild(item.el);
        state.outbox.push(item);
        pump();
      };
      bubble.addEventListener('click', retry);
      bubble.addEventListener('keydown', retry);
    }
  }

  function pump() {
    if (state.pumping) return;
    state.pumping = true;
    (function next() {
      if (!state.outbox.length) {
        state.pumping = false;
        return;
      }
      var item = state.outbox[0];
      if (item.done) {
        state.outbox.shift();
        return next();
      }
      if (!state.session && needsPrechat()) {
        // A dropped session with prechat questions: wait for the answers (submitPrechat calls pump again).
        state.pumping = false;
        showPrechatIfNeeded();
        if (!state.open) open();
        return;
      }
      var attempt = state.session ? sendOnce(item) : createSession().then(function () { return sendOnce(item); });
      attempt.then(function () {
        state.outbox.shift();
        next();
      }, function (err) {
        if (item.done) {  // acknowledged meanwhile through the WebSocket
          state.outbox.shift();
          return next();
        }
        if (err.status === 401 && !state.session && item.resets < 1) {
          item.resets++;  // the session was dropped: once more in a new one (same client_msg_id)
          return next();
        }
        if (retryable(err) && item.attempts < SEND_MAX_ATTEMPTS) {
          item.attempts++;
          item.el.setAttribute('data-meta', 'Sending\u2026 (retrying)');
          return sleep(Math.max(err.retryAfterMs || 0, backoffMs(item.attempts - 1, 1000, 30000))).then(next);
        }
        state.outbox.shift();
        state.pending.delete(item.cmid);
        markFailed(item, err);
        // A failed message gets a new chance through its retry, keeping its client_msg_id (idempotent).
        state.pending.set(item.cmid, item);
        next();
      });
    })();
  }

  function sendOnce(item) {
    var body = { text: item.text, conversation_id: state.session.conversation_id, client_msg_id: item.cmid };
    return request('POST', '/v1/sdk/messages', { body: body }).then(function (res) {
      if (res && isValidMessage(res.message)) {
        if (!item.done) {
          if (ingest(res.message, 'send')) onNewMessage(res.message, true);
        }
      } else {
        throw new HttpError(502, 'bad_response', 'unexpected response to POST /v1/sdk/messages');
      }
      item.done = true;
      state.pending.delete(item.cmid);
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // Typing

  function onCustomerTyping() {
    if (!state.session || !ui.input.value.trim()) {
      if (!ui.input.value.trim()) stopTyping();
      return;
    }
    var now = Date.now();
    if (!typingOut.active || now - typingOut.lastStart >= TYPING_THROTTLE_MS) {
      if (sendFrame('typing', { conversation_id: state.session.conversation_id, state: 'start' })) {
        typingOut.active = true;
        typingOut.lastStart = now;
      }
    }
    clearTimeout(typingOut.idleTimer);
    typingOut.idleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    clearTimeout(typingOut.idleTimer);
    typingOut.idleTimer = null;
    if (!typingOut.active) return;
    typingOut.active = false;
    if (state.session) sendFrame('typing', { conversation_id: state.session.conversation_id, state: 'stop' });
  }

  function typerKey(sender) { return (sender.type || '') + ':' + (sender.id || ''); }

  function onTyping(data) {
    if (!isObject(data) || !isObject(data.sender) || data.sender.type === 'customer') return;
    var key = typerKey(data.sender);
    var known = typers.get(key);
    if (known) clearTimeout(known.timer);
    if (data.state === 'start') {
      typers.set(key, { sender: data.sender, timer: setTimeout(function () { clearTyper(data.sender); }, TYPING_SHOW_MS) });
    } else {
      typers.delete(key);
    }
    renderTyping();
  }

  function clearTyper(sender) {
    var key = typerKey(sender);
    var known = typers.get(key);
    if (!known) return;
    clearTimeout(known.timer);
    typers.delete(key);
    renderTyping();
  }

  function renderTyping() {
    if (!ui.typing) return;
    var names = [];
    typers.forEach(function (t) {
      var n = senderName(t.sender);
      if (names.indexOf(n) < 0) names.push(n);
    });
    if (!names.length) {
      ui.typing.hidden = true;
      ui.typing.textContent = '';
      return;
    }
    var stick = nearBottom();
    ui.typing.textContent = names.length === 1 ? names[0] + ' is typing' : names.join(' and ') + ' are typing';
    ui.typing.hidden = false;
    if (stick) scrollToBottom();
  }

  // ---------------------------------------------------------------------------------------------------------
  // WebSocket: ticket, hello, subscribe(after_seq), events, keepalive, reconnect with backoff + jitter

  function setConnState(s) {
    if (state.connState === s) return;
    state.connState = s;
    if (ui.panel) ui.panel.setAttribute('data-state', s);
    if (ui.statusText) {
      var name = state.config.app_name || '';
      ui.statusText.textContent = s === 'online' || !state.session ? name : (s === 'connecting' ? 'Connecting\u2026' : 'Offline \u2014 reconnecting');
    }
    emit('state', s);
  }

  function wsUrl(ticket) {
    var base = API.replace(/^http(s?):\/\//i, function (_, s) { return 'ws' + s + '://'; });
    if (!/^wss?:\/\//i.test(base)) {
      base = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + (API.charAt(0) === '/' ? API : '/' + API);
    }
    return base + '/v1/ws?ticket=' + encodeURIComponent(ticket);
  }

  function sendFrame(type, data, id) {
    var s = ws.socket;
    if (!s || s.readyState !== 1) return false;
    var frame = { type: type, data: data || {} };
    if (id) frame.id = id;
    try { s.send(JSON.stringify(frame)); return true; } catch (e) { return false; }
  }

  function connect() {
    if (!state.session || ws.socket || ws.connecting || typeof WebSocket !== 'function') return;
    clearTimeout(ws.timer);
    ws.timer = null;
    ws.connecting = true;
    setConnState('connecting');
    var gen = state.generation;
    request('POST', '/v1/ws/ticket', { body: {} }).then(function (res) {
      if (gen !== state.generation || !state.session) { ws.connecting = false; return; }
      if (!res || typeof res.ticket !== 'string') throw new HttpError(502, 'bad_response', 'no ticket');
      openSocket(res.ticket, gen);
    }).catch(function (err) {
      ws.connecting = false;
      if (gen !== state.generation || !state.session) return;
      scheduleReconnect(err && err.retryAfterMs);
    });
  }

  function openSocket(ticket, gen) {
    var socket;
    try {
      socket = new WebSocket(wsUrl(ticket));
    } catch (e) {
      ws.connecting = false;
      scheduleReconnect();
      return;
    }
    ws.socket = socket;
    ws.connecting = false;
    ws.subscribeId = null;
    ws.lastFrameAt = Date.now();
    ws.pingSentAt = 0;
    socket.onmessage = function (ev) {
      if (ws.socket !== socket) return;
      ws.lastFrameAt = Date.now();
      var frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      if (isObject(frame)) onFrame(frame, gen);
    };
    socket.onclose = function () {
      if (ws.socket !== socket) return;
      ws.socket = null;
      stopKeepalive();
      typingOut.active = false;
      if (gen !== state.generation || !state.session) return;
      setConnState('offline');
      var delay = ws.shutdownDelay;
      ws.shutdownDelay = 0;
      scheduleReconnect(delay);
    };
    socket.onerror = function () { /* a close event follows */ };
  }

  function closeSocket() {
    stopKeepalive();
    var s = ws.socket;
    ws.socket = null;
    ws.connecting = false;
    if (s) {
      try { s.close(1000, 'bye'); } catch (e) { /* already closing */ }
    }
  }

  function scheduleReconnect(minDelay) {
    if (!state.session || ws.timer) return;
    setConnState('offline');
    var delay = Math.max(minDelay || 0, backoffMs(ws.attempt, RECONNECT_MIN_MS, RECONNECT_MAX_MS));
    ws.attempt++;
    ws.timer = setTimeout(function () {
      ws.timer = null;
      connect();
    }, delay);
  }

  function reconnectNow() {
    clearTimeout(ws.timer);
    ws.timer = null;
    connect();
  }

  function startKeepalive() {
    stopKeepalive();
    var every = Math.max(5000, Math.min(ws.heartbeatMs || 25000, 60000));
    ws.keepalive = setInterval(function () {
      var s = ws.socket;
      if (!s || s.readyState !== 1) return;
      var now = Date.now();
      // No frame at all since our last ping (which the server answers with pong) and long enough: the
      // connection is dead without a close event (sleep, network switch). Checked against our own ping so
      // that a throttled background timer cannot mistake slowness for a dead link.
      if (ws.pingSentAt && ws.lastFrameAt < ws.pingSentAt && now - ws.pingSentAt > 10000) {
        try { s.close(4000, 'no pong'); } catch (e) { /* ignore */ }
        if (s.onclose) s.onclose();
        return;
      }
      ws.pingSentAt = now;
      sendFrame('ping', {}, 'ping-' + (ws.nextId++));
    }, every);
  }

  function stopKeepalive() {
    if (ws.keepalive) clearInterval(ws.keepalive);
    ws.keepalive = null;
    ws.pingSentAt = 0;
  }

  function onFrame(frame, gen) {
    if (gen !== state.generation || !state.session) return;
    var type = frame.type;
    var data = frame.data;
    var conv = state.session.conversation_id;
    switch (type) {
      case 'hello': {
        if (isObject(data) && typeof data.heartbeat_ms === 'number' && data.heartbeat_ms > 0) ws.heartbeatMs = data.heartbeat_ms;
        startKeepalive();
        ws.subscribeId = 'sub-' + (ws.nextId++);
        sendFrame('subscribe', { conversation_id: conv, after_seq: state.maxSeq }, ws.subscribeId);
        break;
      }
      case 'ok':
        if (frame.id && frame.id === ws.subscribeId) onSubscribed();
        break;
      case 'error':
        if (frame.id && frame.id === ws.subscribeId) {
          var code = isObject(data) ? data.code : '';
          if (code === 'not_found' || code === 'permission_denied' || code === 'unauthenticated') {
            dropSession();
            return;
          }
          onSubscribed();  // the customer's own feed arrives without a subscription; HTTP fills any gap
        }
        break;
      case 'message.created':
        if (isObject(data) && data.conversation_id === conv) {
          var live = state.historyLoaded;
          if (ingest(data, 'live')) onNewMessage(data, live);
        }
        break;
      case 'message.updated':
      case 'message.deleted':
        if (isObject(data) && data.conversation_id === conv) {
          if (type === 'message.deleted') data.deleted = true;
          if (state.bySeq.has(data.seq)) ingest(data, 'update');
          else if (ingest(data, 'live')) onNewMessage(data, state.historyLoaded);
        }
        break;
      case 'typing':
        if (isObject(data) && data.conversation_id === conv) onTyping(data);
        break;
      case 'conversation.updated':
      case 'conversation.created':
        applyConversation(data);
        break;
      case 'shutdown':
        ws.shutdownDelay = isObject(data) && typeof data.reconnect_after_ms === 'number' ? data.reconnect_after_ms : 1000;
        ws.attempt = 0;
        break;
      default:
        break;  // pong, receipt, presence, notification: nothing to show
    }
  }

  function onSubscribed() {
    var reconnect = state.wsEverOnline;
    state.wsEverOnline = true;
    ws.attempt = 0;
    setConnState('online');
    // The subscribe replay closed the gap already; the HTTP read is the fallback for anything it could not
    // send (and the first history load when that failed before).
    if (reconnect || !state.historyLoaded) fetchMissed().catch(function () { /* next reconnect tries again */ });
    if (state.outbox.length) { wakeSleepers(); pump(); }
  }

  // Another tab of the same page created or dropped the session.
  window.addEventListener('storage', function (e) {
    if (e.key !== STORAGE_KEY || !state.config || !ui.panel) return;
    var next = parseSession(e.newValue);
    if (!next) return;
    if (state.session && state.session.token === next.token) return;
    if (state.session) return;  // keep ours; both are valid customers
    adoptSession(next);
    resume();
  });

  // ---------------------------------------------------------------------------------------------------------
  // Configuration and start

  function normalizeConfig(raw) {
    raw = isObject(raw) ? raw : {};
    var w = isObject(raw.widget) ? raw.widget : {};
    var prechat = Array.isArray(w.prechat) ? w.prechat.filter(function (q) {
      return isObject(q) && typeof q.id === 'string' && /^[a-z0-9_]{1,40}$/.test(q.id);
    }).map(function (q) {
      return { id: q.id, label: str(q.label, q.id) || q.id, type: ['text', 'email', 'textarea'].indexOf(q.type) >= 0 ? q.type : 'text',
               required: q.required === true };
    }) : [];
    var bot = isObject(raw.bot) ? raw.bot : {};
    return {
      app_name: str(raw.app_name),
      widget: {
        color: /^#[0-9a-fA-F]{6}$/.test(w.color || '') ? w.color : '#2563eb',
        position: w.position === 'left' ? 'left' : 'right',
        title: str(w.title) || 'Chat with us',
        welcome_text: typeof w.welcome_text === 'string' ? w.welcome_text : 'Hi! How can we help?',
        logo_url: str(w.logo_url),
        prechat: prechat
      },
      bot: { enabled: bot.enabled === true, name: str(bot.name) || 'Bot' }
    };
  }

  function loadConfig(attempt) {
    return request('GET', '/v1/public/widget/' + encodeURIComponent(PK), { auth: false, apiKey: false })
        .catch(function (err) {
          if (err.status === 404 || err.status === 400) throw err;
          if (attempt < 3) return sleep(backoffMs(attempt, 1000, 8000)).then(function () { return loadConfig(attempt + 1); });
          throw err;
        });
  }

  function whenBody() {
    if (document.body) return Promise.resolve();
    return new Promise(function (resolve) { document.addEventListener('DOMContentLoaded', function () { resolve(); }, { once: true }); });
  }

  function start() {
    loadConfig(0).then(normalizeConfig, function (err) {
      if (err.status === 404 || err.status === 400) {
        if (window.console) console.error('[libchat] unknown publishable key ' + PK + ': the widget is not shown');
        return null;
      }
      if (window.console) console.warn('[libchat] could not load the widget settings (' + err.message + '); using defaults');
      return normalizeConfig({});
    }).then(function (config) {
      if (!config) return;
      state.config = config;
      return whenBody().then(function () {
        if (document.getElementById('libchat-widget')) return;
        mount();
        state.session = parseSession(storage.get(STORAGE_KEY));
        showPrechatIfNeeded();
        if (state.session) {
          setConnState('connecting');
          resume();
        }
        var pending = publicApi.__queue || [];
        emit('ready');
        pending.forEach(function (fn) { try { fn(); } catch (e) { /* ignore */ } });
      });
    });
  }

  var ready = false;
  var publicApi = {
    __libchat: true,
    __queue: [],
    open: function () { if (ready) open(); else publicApi.__queue.push(open); },
    close: function () { if (ready) close(false); else publicApi.__queue.push(function () { close(false); }); },
    toggle: function () { if (ready) toggle(); else publicApi.__queue.push(toggle); },
    on: function (event, fn) {
      if (typeof fn !== 'function') return publicApi;
      (listeners[event] = listeners[event] || []).push(fn);
      return publicApi;
    },
    off: function (event, fn) {
      var list = listeners[event] || [];
      var i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
      return publicApi;
    }
  };
  publicApi.on('ready', function () { ready = true; });
  window.LibChat = publicApi;
  start();
})();
