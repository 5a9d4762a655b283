// Small DOM helpers. Every piece of server data reaches the page through text nodes or
// properties (never innerHTML), and no markup carries a style attribute (styles are classes; the
// widget preview's colour goes through the CSSOM, which style-src 'self' allows), so the page runs
// under a strict Content-Security-Policy (script-src 'self'; style-src 'self').

// h('div', {class: 'x', testid: 'y', onclick: fn}, 'text', child, [more children])
// Attribute rules: `class` -> className; `testid` -> data-testid; `on<event>` -> listener;
// value/checked/disabled/hidden/selected/type/... -> DOM properties; anything else -> setAttribute.
const kProps = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'readOnly', 'required',
                        'multiple', 'min', 'max', 'step', 'rows', 'placeholder', 'type', 'name', 'htmlFor',
                        'autocomplete', 'maxLength', 'tabIndex', 'title', 'href', 'target', 'rel', 'id']);

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false && !kProps.has(key)) continue;
      if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
      else if (key === 'testid') el.setAttribute('data-testid', value);
      else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else if (key === 'for') el.htmlFor = value;
      else if (kProps.has(key)) el[key] = value;
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

// append(el, child, [children], …): nodes, strings (as text) and nested arrays; null/false skipped.
export function append(el, ...children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, ...child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

// A labelled form field: <label class="field"><span>Label</span>{control}<small>hint</small></label>
export function field(label, control, hint) {
  return h('label', {class: 'field'}, h('span', {class: 'field-label'}, label), control,
           hint ? h('small', {class: 'hint'}, hint) : null);
}

export function option(value, label, selected) {
  return h('option', {value, selected: !!selected}, label === undefined ? value : label);
}

export function select(attrs, options, current) {
  return h('select', attrs, options.map(([value, label]) => option(value, label, value === current)));
}

// An inline error/notice area. show(err) renders an ApiError or any Error; show(null) hides it.
export function messageBox() {
  const box = h('div', {class: 'notice', role: 'alert', hidden: true});
  box.show = (what, kind = 'error') => {
    if (!what) {
      box.hidden = true;
      clear(box);
      return;
    }
    box.className = 'notice notice-' + kind;
    const text = typeof what === 'string' ? what : what.message || String(what);
    replace(box, text, what && what.code ? h('span', {class: 'code'}, ' (' + what.code + ')') : null);
    box.hidden = false;
  };
  box.ok = (text) => box.show(text, 'ok');
  return box;
}

// Runs an async action with the button disabled; errors go to `box` (a messageBox) if given.
export async function busy(button, box, action) {
  if (button) button.disabled = true;
  if (box) box.show(null);
  try {
    return await action();
  } catch (err) {
    if (box) box.show(err);
    else console.warn(err);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    // Clipboard API unavailable (http origin, permissions): fall back to a selected textarea.
    const area = h('textarea', {class: 'offscreen', readOnly: true, value: text});
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch (_) { ok = false; }
    area.remove();
    return ok;
  }
}

export function copyButton(getText, label = 'Copy') {
  const button = h('button', {type: 'button', class: 'btn btn-small', onclick: async () => {
    const ok = await copyText(typeof getText === 'function' ? getText() : getText);
    button.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(() => { button.textContent = label; }, 1500);
  }}, label);
  return button;
}

// A secret shown once: the value, a copy button and a warning.
export function secretBlock(title, value, testid, warning) {
  return h('div', {class: 'secret'},
           h('div', {class: 'secret-title'}, title),
           h('div', {class: 'secret-row'}, h('code', {class: 'secret-value', testid}, value), copyButton(value)),
           warning ? h('p', {class: 'warning'}, warning) : null);
}

// A button that asks for confirmation in place (window.confirm is easy to miss and is
// dismissed by headless browsers): first click shows "Confirm / Cancel".
export function confirmButton(label, question, action, {danger = true, testid, small = false} = {}) {
  const size = small ? ' btn-small' : '';
  const wrap = h('span', {class: 'confirm'});
  const start = h('button', {type: 'button', class: (danger ? 'btn btn-danger' : 'btn') + size, testid}, label);
  const ask = h('span', {class: 'confirm-ask', hidden: true});
  const yes = h('button', {type: 'button', class: (danger ? 'btn btn-danger' : 'btn btn-primary') + size,
                           'data-confirm': 'yes'}, 'Confirm');
  const no = h('button', {type: 'button', class: 'btn' + size}, 'Cancel');
  append(ask, [h('span', {class: 'confirm-question'}, question), yes, no]);
  start.addEventListener('click', () => { start.hidden = true; ask.hidden = false; });
  no.addEventListener('click', () => { start.hidden = false; ask.hidden = true; });
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    try {
      await action();
    } finally {
      yes.disabled = false;
      start.hidden = false;
      ask.hidden = true;
    }
  });
  return append(wrap, [start, ask]);
}

export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay ? d.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'})
                 : d.toLocaleString([], {month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'});
}

export function shortId(id) {
  if (!id) return '';
  const cut = id.indexOf('_');
  return cut >= 0 ? id.slice(0, cut + 1) + id.slice(cut + 1, cut + 7) : id.slice(0, 8);
}

export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

// A random id for client_msg_id (idempotent retries of a send).
export function randomId(prefix = 'dash') {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return prefix + '-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// Renders a server snippet that marks matches with <mark>…</mark> (the rest HTML-escaped by the
// server) without innerHTML: split on the tags, unescape entities, and emit text nodes.
export function snippetNodes(snippet) {
  const nodes = [];
  const parts = String(snippet || '').split(/(<mark>|<\/mark>)/);
  let marked = false;
  for (const part of parts) {
    if (part === '<mark>') { marked = true; continue; }
    if (part === '</mark>') { marked = false; continue; }
    if (!part) continue;
    const text = unescapeHtml(part);
    nodes.push(marked ? h('mark', null, text) : document.createTextNode(text));
  }
  return nodes;
}

function unescapeHtml(text) {
  return text.replace(/&(lt|gt|amp|quot|#39|#x27|apos);/g, (_, name) =>
    ({lt: '<', gt: '>', amp: '&', quot: '"', '#39': "'", '#x27': "'", apos: "'"})[name]);
}
