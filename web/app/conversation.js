// One conversation: history (paged by seq), live messages, reply, typing both ways, read
// receipts, status and assignee.

import {h, append, replace, clear, messageBox, busy, formatTime, shortId, randomId, select, debounce} from './dom.js';
import {api, enc, myId, getSession} from './api.js';
import {live} from './live.js';
import {principalName, operatorsOfApp} from './store.js';

const kStatuses = ['open', 'pending', 'resolved', 'snoozed'];
const kPageSize = 50;
const kTypingShownMs = 6000;   // an incoming "start" without a "stop" fades after this
const kTypingRefreshMs = 3000; // re-send "start" at most this often while typing
const kTypingIdleMs = 4000;    // send "stop" after this long without a keystroke

export function conversationTitle(conv) {
  if (!conv) return '';
  if (conv.name) return conv.name;
  const prechat = conv.metadata && typeof conv.metadata.prechat === 'object' ? conv.metadata.prechat : null;
  if (prechat && typeof prechat.name === 'string' && prechat.name) return prechat.name;
  if (prechat && typeof prechat.email === 'string' && prechat.email) return prechat.email;
  if (conv.customer_id) return 'Customer ' + shortId(conv.customer_id).slice(4);
  return conv.type + ' ' + shortId(conv.id).slice(5);
}

// options: {app, onRead(convId, seq), onConversation(conv)}. Returns {handle(frame), dispose()}.
export function mountConversation(pane, convId, options) {
  const {app} = options;
  const me = myId();
  const box = messageBox();
  const messages = new Map();  // seq -> message
  let conv = null;
  let hasOlder = false;
  let readSent = 0;
  let disposed = false;
  const typers = new Map();  // sender id -> timer

  const title = h('h2', {class: 'conv-title'}, 'Loading…');
  const subtitle = h('div', {class: 'conv-subtitle muted small'});
  const statusSelect = select({testid: 'conv-status', class: 'compact', 'aria-label': 'Status'},
                              kStatuses.map((s) => [s, s]), 'open');
  const assigneeSelect = h('select', {testid: 'conv-assignee', class: 'compact', 'aria-label': 'Assignee'});
  const details = h('div', {class: 'conv-details'});
  const olderButton = h('button', {type: 'button', class: 'btn btn-small', hidden: true, onclick: () => loadOlder()},
                        'Load older messages');
  const list = h('div', {class: 'conv-messages', testid: 'conv-messages', 'aria-live': 'polite'});
  const scroller = h('div', {class: 'conv-scroll'}, h('div', {class: 'older'}, olderButton), list);
  const typingLine = h('div', {class: 'conv-typing', testid: 'conv-typing', 'aria-live': 'polite'});
  const input = h('textarea', {testid: 'reply-input', rows: 2, placeholder: 'Write a reply… (Enter sends, Shift+Enter for a new line)'});
  const sendButton = h('button', {type: 'submit', class: 'btn btn-primary', testid: 'reply-send'}, 'Send');
  const composer = h('form', {class: 'composer', onsubmit: (e) => { e.preventDefault(); send(); }},
                     input, sendButton);

  const view = h('section', {class: 'conv-view', 'data-conversation-id': convId},
                 h('header', {class: 'conv-header'},
                   h('div', {class: 'conv-heading'}, h('a', {href: '#/apps/' + enc(app.id) + '/inbox',
                                                              class: 'back-link', title: 'Back to the inbox'}, '←'),
                     h('div', null, title, subtitle)),
                   h('div', {class: 'conv-controls'},
                     h('label', {class: 'inline-field'}, h('span', null, 'Status'), statusSelect),
                     h('label', {class: 'inline-field'}, h('span', null, 'Assignee'), assigneeSelect))),
                 details, box, scroller, typingLine, composer);
  replace(pane, view);

  // --- rendering -----------------------------------------------------------------------

  function renderHeader() {
    title.textContent = conversationTitle(conv);
    const bits = [conv.type];
    if (conv.customer_id) bits.push(conv.customer_id);
    bits.push('started ' + formatTime(conv.created_at));
    subtitle.textContent = bits.join(' · ');
    statusSelect.value = conv.status;
    renderAssignees();
    renderDetails();
  }

  function renderAssignees() {
    const session = getSession();
    const opts = [['', 'Unassigned']];
    const ownerId = session.account_id;
    opts.push([ownerId, session.kind === 'account' ? 'You (owner)' : 'Owner']);
    for (const op of operatorsOfApp(app.id)) opts.push([op.id, op.name + (op.id === me ? ' (you)' : '')]);
    if (session.kind === 'operator' && !opts.some(([id]) => id === me)) opts.push([me, 'You']);
    const current = conv.assignee_id || '';
    if (current && !opts.some(([id]) => id === current)) opts.push([current, principalName(current)]);
    replace(assigneeSelect, opts.map(([value, label]) => h('option', {value, selected: value === current}, label)));
    assigneeSelect.value = current;
  }

  function renderDetails() {
    const meta = conv.metadata && typeof conv.metadata === 'object' ? conv.metadata : {};
    const prechat = meta.prechat && typeof meta.prechat === 'object' ? meta.prechat : null;
    const rows = [];
    if (prechat) {
      for (const [key, value] of Object.entries(prechat)) rows.push([key, typeof value === 'string' ? value : JSON.stringify(value)]);
    }
    for (const [key, value] of Object.entries(meta)) {
      if (key === 'prechat') continue;
      rows.push([key, typeof value === 'string' ? value : JSON.stringify(value)]);
    }
    clear(details);
    details.hidden = rows.length === 0;
    if (rows.length) {
      append(details, h('dl', {class: 'kv'}, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])));
    }
  }

  function messageElement(m) {
    const type = m.sender && m.sender.type ? m.sender.type : 'system';
    const mine = m.sender && m.sender.id === me;
    const side = type === 'customer' ? 'theirs' : 'ours';
    let name = principalName(m.sender && m.sender.id, type);
    if (type === 'bot') name = (options.botName && options.botName()) || 'Bot';
    const el = h('div', {class: ['msg', 'msg-' + type, 'msg-' + side, mine ? 'msg-mine' : '', m.deleted ? 'msg-deleted' : ''],
                         'data-sender-type': type, 'data-seq': m.seq, 'data-message-id': m.id},
                 h('div', {class: 'msg-meta'},
                   type === 'bot' ? h('span', {class: 'tag tag-bot'}, 'BOT') : null,
                   h('span', {class: 'msg-sender'}, name),
                   h('time', {class: 'msg-time', datetime: m.created_at, title: m.created_at}, formatTime(m.created_at)),
                   m.edited_at && !m.deleted ? h('span', {class: 'msg-edited'}, 'edited') : null),
                 h('div', {class: 'msg-text'}, m.deleted ? 'This message was deleted.' : m.text));
    const sources = m.metadata && m.metadata.bot && Array.isArray(m.metadata.bot.sources) ? m.metadata.bot.sources : null;
    if (type === 'bot' && sources && sources.length) {
      el.appendChild(h('div', {class: 'msg-sources small muted'}, 'From the knowledge base: ' + sources.join(', ')));
    }
    return el;
  }

  // Inserts or replaces a message, keeping the list ordered by seq. Returns true if it was new.
  function put(m, {scroll = true} = {}) {
    if (!m || typeof m.seq !== 'number') return false;
    const isNew = !messages.has(m.seq);
    messages.set(m.seq, m);
    const el = messageElement(m);
    const existing = list.querySelector('.msg[data-seq="' + m.seq + '"]');
    const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    if (existing) {
      existing.replaceWith(el);
    } else {
      let before = null;
      for (const child of list.children) {
        if (Number(child.getAttribute('data-seq')) > m.seq) { before = child; break; }
      }
      list.insertBefore(el, before);
    }
    if (isNew && scroll && (nearBottom || (m.sender && m.sender.id === me))) scrollToBottom();
    return isNew;
  }

  function scrollToBottom() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  function maxSeq() {
    let max = 0;
    for (const seq of messages.keys()) if (seq > max) max = seq;
    return max;
  }

  function minSeq() {
    let min = Infinity;
    for (const seq of messages.keys()) if (seq < min) min = seq;
    return min === Infinity ? 0 : min;
  }

  function renderTyping() {
    if (typers.size === 0) {
      typingLine.textContent = '';
      typingLine.classList.remove('active');
      return;
    }
    const names = Array.from(typers.keys()).map((id) => {
      const t = typers.get(id);
      return principalName(id, t.type);
    });
    typingLine.textContent = names.join(', ') + (names.length > 1 ? ' are typing…' : ' is typing…');
    typingLine.classList.add('active');
  }

  function setTyping(sender, state) {
    if (!sender || !sender.id || sender.id === me) return;
    const old = typers.get(sender.id);
    if (old) clearTimeout(old.timer);
    if (state === 'start') {
      typers.set(sender.id, {type: sender.type, timer: setTimeout(() => { typers.delete(sender.id); renderTyping(); },
                                                                  kTypingShownMs)});
    } else {
      typers.delete(sender.id);
    }
    renderTyping();
  }

  // --- loading ---------------------------------------------------------------------------

  async function load() {
    try {
      conv = await api('GET', '/v1/conversations/' + enc(convId));
      if (disposed) return;
      renderHeader();
      if (conv.last_seq > 0) {
        const page = await api('GET', '/v1/conversations/' + enc(convId) + '/messages', undefined,
                               {query: {before_seq: conv.last_seq + 1, limit: kPageSize}});
        if (disposed) return;
        for (const m of page.data || []) put(m, {scroll: false});
        hasOlder = !!page.has_more;
        olderButton.hidden = !hasOlder;
      }
      await catchUp();
      scrollToBottom();
      markRead();
      input.focus();
    } catch (err) {
      if (!disposed) box.show(err);
    }
  }

  // Fetches everything after the newest message we have (after a reconnect, or a race between
  // the first page and live events).
  async function catchUp() {
    for (let guard = 0; guard < 50 && !disposed; guard++) {
      const page = await api('GET', '/v1/conversations/' + enc(convId) + '/messages', undefined,
                             {query: {after_seq: maxSeq(), limit: 200}});
      for (const m of page.data || []) put(m);
      if (!page.has_more || !(page.data || []).length) break;
    }
  }

  async function loadOlder() {
    await busy(olderButton, box, async () => {
      const first = minSeq();
      if (first <= 1) { hasOlder = false; olderButton.hidden = true; return; }
      const height = scroller.scrollHeight;
      const page = await api('GET', '/v1/conversations/' + enc(convId) + '/messages', undefined,
                             {query: {before_seq: first, limit: kPageSize}});
      for (const m of page.data || []) put(m, {scroll: false});
      hasOlder = !!page.has_more;
      olderButton.hidden = !hasOlder;
      scroller.scrollTop += scroller.scrollHeight - height;  // keep the view where it was
    });
  }

  // --- read receipts -------------------------------------------------------------------------

  const markRead = debounce(async () => {
    if (disposed || document.visibilityState !== 'visible') return;
    const seq = maxSeq();
    if (seq === 0) return;
    if (seq <= readSent || (readSent === 0 && conv && seq <= (conv.read_seq || 0))) {
      readSent = Math.max(readSent, seq);
      if (options.onRead) options.onRead(convId, seq);
      return;
    }
    readSent = seq;
    try {
      await api('POST', '/v1/conversations/' + enc(convId) + '/read', {seq});
      if (options.onRead) options.onRead(convId, seq);
    } catch (err) {
      readSent = 0;
      console.warn('mark read failed', err);
    }
  }, 250);

  const onVisible = () => { if (document.visibilityState === 'visible') markRead(); };
  document.addEventListener('visibilitychange', onVisible);

  // --- outgoing --------------------------------------------------------------------------

  let typingSentAt = 0;
  let typingStopTimer = null;

  function sendTyping(state) {
    if (!live.send('typing', {conversation_id: convId, state})) {
      api('POST', '/v1/conversations/' + enc(convId) + '/typing', {state}).catch(() => {});
    }
  }

  input.addEventListener('input', () => {
    const now = Date.now();
    if (input.value.trim() && now - typingSentAt > kTypingRefreshMs) {
      typingSentAt = now;
      sendTyping('start');
    }
    clearTimeout(typingStopTimer);
    typingStopTimer = setTimeout(stopTyping, kTypingIdleMs);
  });

  function stopTyping() {
    clearTimeout(typingStopTimer);
    if (typingSentAt) {
      typingSentAt = 0;
      sendTyping('stop');
    }
  }

  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });

  let sending = false;
  async function send() {
    const text = input.value.trim();
    if (!text || sending) return;
    sending = true;
    const clientMsgId = randomId('dash');
    await busy(sendButton, box, async () => {
      // Retries of a failed request reuse the id, so a lost response cannot duplicate the message.
      const result = await api('POST', '/v1/conversations/' + enc(convId) + '/messages',
                               {text, client_msg_id: clientMsgId});
      const message = result && result.message ? result.message : result;
      if (message && typeof message.seq === 'number') put(message);
      if (input.value.trim() === text) input.value = '';
      stopTyping();
      markRead();
    });
    sending = false;
    input.focus();
  }

  async function patch(body, revert) {
    box.show(null);
    try {
      const updated = await api('PATCH', '/v1/conversations/' + enc(convId), body);
      conversationUpdated(updated);
      if (options.onConversation) options.onConversation(updated);
    } catch (err) {
      revert();
      box.show(err);
    }
  }

  statusSelect.addEventListener('change', () => {
    const before = conv.status;
    patch({status: statusSelect.value}, () => { statusSelect.value = before; });
  });
  assigneeSelect.addEventListener('change', () => {
    const before = conv.assignee_id || '';
    patch({assignee_id: assigneeSelect.value}, () => { assigneeSelect.value = before; });
  });

  // --- incoming --------------------------------------------------------------------------

  function conversationUpdated(c) {
    if (!conv || !c || c.id !== convId) return;
    const {unread_count: _u, read_seq: _r, ...rest} = c;
    conv = {...conv, ...rest, members: c.members || conv.members};
    renderHeader();
  }

  function handle(frame) {
    const data = frame.data || {};
    switch (frame.type) {
      case 'message.created':
      case 'message.updated':
      case 'message.deleted':
        if (data.conversation_id !== convId) return;
        if (data.sender) setTyping(data.sender, 'stop');
        if (conv && data.seq > conv.last_seq) conv.last_seq = data.seq;
        put(data);
        if (data.sender && data.sender.id !== me) markRead();
        break;
      case 'conversation.updated':
        conversationUpdated(data);
        break;
      case 'typing':
        if (data.conversation_id === convId) setTyping(data.sender, data.state);
        break;
      case 'live.open':
        if (data.resumed && conv) catchUp().then(() => markRead()).catch((err) => box.show(err));
        break;
      default:
        break;
    }
  }

  load();

  return {
    handle,
    refreshAssignees() { if (conv) renderAssignees(); },
    dispose() {
      disposed = true;
      markRead.cancel();
      stopTyping();
      for (const t of typers.values()) clearTimeout(t.timer);
      document.removeEventListener('visibilitychange', onVisible);
    },
  };
}
