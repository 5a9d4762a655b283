// The inbox of one app: conversations (newest activity first) with last message, unread count,
// status and assignee; filters; live updates from the WebSocket feed; and the open conversation.

import {h, append, replace, clear, messageBox, busy, formatTime, debounce} from './dom.js';
import {api, enc, myId, getSession} from './api.js';
import {live} from './live.js';
import {store, operatorsOfApp, principalName, onStoreChange} from './store.js';
import {mountConversation, conversationTitle} from './conversation.js';

const kListLimit = 100;

// Filters survive switching conversations and tabs (per app) for the page's lifetime.
const savedFilters = new Map();

export function mountInbox(container, app, ctx) {
  const me = myId();
  const filters = savedFilters.get(app.id) || {status: 'all', assignee: 'all'};
  savedFilters.set(app.id, filters);
  const box = messageBox();
  let conversations = [];
  let selectedId = null;
  let conversationView = null;
  let disposed = false;
  let loaded = false;
  const otherApps = new Set();  // conversation ids known to belong to other apps
  const typingTimers = new Map();  // conv id -> timer for the "typing…" hint in the list

  const statusFilter = h('select', {testid: 'filter-status', 'aria-label': 'Status filter', class: 'compact'},
                         [['all', 'All statuses'], ['open', 'Open'], ['pending', 'Pending'], ['resolved', 'Resolved'],
                          ['snoozed', 'Snoozed']].map(([v, l]) => h('option', {value: v}, l)));
  const assigneeFilter = h('select', {testid: 'filter-assignee', 'aria-label': 'Assignee filter', class: 'compact'});
  const listEl = h('div', {class: 'conv-list', testid: 'conversation-list'});
  const emptyEl = h('div', {class: 'empty', hidden: true}, 'No conversations yet. Embed the widget (Widget tab) and say hello.');
  const more = h('button', {type: 'button', class: 'btn btn-small load-more', hidden: true,
                            onclick: () => loadMore()}, 'Load more');
  const pane = h('div', {class: 'conv-pane'});
  let nextCursor = null;
  const layout = h('div', {class: 'inbox'},
                   h('div', {class: 'inbox-list'},
                     h('div', {class: 'filters'}, statusFilter, assigneeFilter),
                     box, emptyEl, listEl, more),
                   pane);
  replace(container, layout);

  function renderAssigneeFilter() {
    const session = getSession();
    const opts = [['all', 'Everyone'], ['none', 'Unassigned'], ['me', 'Assigned to me']];
    if (session.kind === 'operator') opts.push([session.account_id, 'Owner']);
    for (const op of operatorsOfApp(app.id)) if (op.id !== me) opts.push([op.id, op.name]);
    if (!opts.some(([v]) => v === filters.assignee)) opts.push([filters.assignee, principalName(filters.assignee)]);
    replace(assigneeFilter, opts.map(([v, l]) => h('option', {value: v}, l)));
    assigneeFilter.value = filters.assignee;
  }
  statusFilter.value = filters.status;
  renderAssigneeFilter();

  statusFilter.addEventListener('change', () => { filters.status = statusFilter.value; load(); });
  assigneeFilter.addEventListener('change', () => { filters.assignee = assigneeFilter.value; load(); });

  function matches(c) {
    if (filters.status !== 'all' && c.status !== filters.status) return false;
    if (filters.assignee === 'none') return !c.assignee_id;
    if (filters.assignee === 'me') return c.assignee_id === me;
    if (filters.assignee !== 'all') return c.assignee_id === filters.assignee;
    return true;
  }

  function sortList() {
    const key = (c) => (c.last_message && c.last_message.created_at) || c.last_activity_at || c.updated_at || c.created_at || '';
    conversations.sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0));
  }

  function previewText(c) {
    const m = c.last_message;
    if (!m) return 'No messages yet';
    const type = m.sender ? m.sender.type : '';
    let prefix = '';
    if (m.sender && m.sender.id === me) prefix = 'You: ';
    else if (type === 'bot') prefix = ((ctx.botName && ctx.botName()) || 'Bot') + ': ';
    else if (type === 'operator' || type === 'account') prefix = principalName(m.sender.id, type) + ': ';
    return prefix + (m.deleted ? 'message deleted' : m.text);
  }

  function itemElement(c) {
    const unread = c.id === selectedId ? 0 : Math.max(0, c.unread_count || 0);
    const typing = typingTimers.has(c.id);
    return h('a', {class: ['conv-item', c.id === selectedId ? 'selected' : '', unread ? 'has-unread' : ''],
                   href: '#/apps/' + enc(app.id) + '/conversations/' + enc(c.id),
                   testid: 'conversation-item', 'data-conversation-id': c.id, 'data-status': c.status},
             h('div', {class: 'conv-item-top'},
               h('span', {class: 'conv-item-title'}, conversationTitle(c)),
               h('time', {class: 'conv-item-time'},
                 formatTime((c.last_message && c.last_message.created_at) || c.last_activity_at || c.created_at))),
             h('div', {class: ['conv-item-preview', typing ? 'typing' : '']}, typing ? 'typing…' : previewText(c)),
             h('div', {class: 'conv-item-meta'},
               h('span', {class: 'status status-' + c.status}, c.status),
               h('span', {class: 'conv-item-assignee'}, c.assignee_id ? '→ ' + principalName(c.assignee_id) : 'unassigned'),
               h('span', {class: 'unread', testid: 'conversation-unread', hidden: unread === 0,
                          'aria-label': unread + ' unread'}, String(unread))));
  }

  function renderList() {
    sortList();
    clear(listEl);
    append(listEl, conversations.map(itemElement));
    emptyEl.hidden = conversations.length > 0 || !loaded;
  }

  let loadSeq = 0;
  function listQuery(cursor) {
    const query = {limit: kListLimit, cursor};
    if (filters.status !== 'all') query.status = filters.status;
    if (filters.assignee !== 'all') query.assignee = filters.assignee;
    return query;
  }

  // The first page; live changes that need the server's view (a new conversation, one that now
  // matches the filters) reload it.
  async function load() {
    const mine = ++loadSeq;
    try {
      const page = await api('GET', '/v1/apps/' + enc(app.id) + '/conversations', undefined, {query: listQuery()});
      if (disposed || mine !== loadSeq) return;
      conversations = page.data || [];
      nextCursor = page.next_cursor || null;
      more.hidden = !nextCursor;
      loaded = true;
      box.show(null);
      renderList();
    } catch (err) {
      if (!disposed) box.show(err);
    }
  }

  async function loadMore() {
    if (!nextCursor) return;
    const mine = loadSeq;
    await busy(more, box, async () => {
      const page = await api('GET', '/v1/apps/' + enc(app.id) + '/conversations', undefined,
                             {query: listQuery(nextCursor)});
      if (disposed || mine !== loadSeq) return;
      const known = new Set(conversations.map((c) => c.id));
      conversations = conversations.concat((page.data || []).filter((c) => !known.has(c.id)));
      nextCursor = page.next_cursor || null;
      more.hidden = !nextCursor;
      renderList();
    });
  }
  const reload = debounce(load, 300);

  function find(id) { return conversations.find((c) => c.id === id); }

  function onRead(convId, seq) {
    const c = find(convId);
    if (!c) return;
    const unread = Math.max(0, (c.last_seq || 0) - seq);
    if (c.unread_count !== unread) {
      c.unread_count = unread;
      renderList();
    }
  }

  function onConversation(updated) {
    handleConversationEvent(updated);
  }

  function handleConversationEvent(data) {
    if (data.app_id && data.app_id !== app.id) {
      otherApps.add(data.id);
      return;
    }
    const c = find(data.id);
    if (c) {
      // Events are broadcast: their viewer-relative fields (unread_count, read_seq) are 0.
      const {unread_count: _u, read_seq: _r, last_message: lastMessage, ...rest} = data;
      Object.assign(c, rest);
      if (lastMessage) c.last_message = lastMessage;
      if (!matches(c)) conversations = conversations.filter((x) => x.id !== c.id);
      renderList();
    } else if (matches(data)) {
      reload();
    }
  }

  function handleMessage(m) {
    const c = find(m.conversation_id);
    if (!c) {
      if (!otherApps.has(m.conversation_id)) reload();
      return;
    }
    if (!c.last_message || m.seq >= (c.last_message.seq || 0)) {
      c.last_message = m;
      c.last_activity_at = m.created_at;
    }
    const isNew = m.seq > (c.last_seq || 0);
    if (isNew) c.last_seq = m.seq;
    const fromOthers = m.sender && m.sender.id !== me;
    if (isNew && fromOthers && c.id !== selectedId) c.unread_count = (c.unread_count || 0) + 1;
    if (m.sender) clearTyping(c.id);
    renderList();
  }

  function clearTyping(convId) {
    const t = typingTimers.get(convId);
    if (t) {
      clearTimeout(t);
      typingTimers.delete(convId);
    }
  }

  function handleTyping(data) {
    if (!data.sender || data.sender.id === me || !find(data.conversation_id)) return;
    clearTyping(data.conversation_id);
    if (data.state === 'start') {
      typingTimers.set(data.conversation_id, setTimeout(() => {
        typingTimers.delete(data.conversation_id);
        renderList();
      }, 6000));
    }
    renderList();
  }

  function handleReceipt(r) {
    if (r.member_id !== me) return;
    onRead(r.conversation_id, r.read_seq);
  }

  const offLive = live.on((frame) => {
    if (disposed) return;
    const data = frame.data || {};
    switch (frame.type) {
      case 'message.created': handleMessage(data); break;
      case 'message.updated':
      case 'message.deleted': {
        const c = find(data.conversation_id);
        if (c && c.last_message && c.last_message.seq === data.seq) { c.last_message = data; renderList(); }
        break;
      }
      case 'conversation.created':
      case 'conversation.updated': handleConversationEvent(data); break;
      case 'typing': handleTyping(data); break;
      case 'receipt': handleReceipt(data); break;
      case 'live.open': if (data.resumed) load(); break;
      default: break;
    }
    if (conversationView) conversationView.handle(frame);
  });

  const offStore = onStoreChange(() => {
    renderAssigneeFilter();
    if (conversationView) conversationView.refreshAssignees();
    renderList();
  });

  function open(convId) {
    if (convId === selectedId && conversationView) return;
    if (conversationView) conversationView.dispose();
    conversationView = null;
    selectedId = convId || null;
    layout.classList.toggle('has-selection', !!selectedId);
    if (!selectedId) {
      replace(pane, h('div', {class: 'empty conv-placeholder'}, 'Select a conversation'));
    } else {
      conversationView = mountConversation(pane, selectedId, {app, onRead, onConversation, botName: ctx.botName});
    }
    renderList();
  }

  load();

  return {
    update(sub) { open(sub && sub.conversationId); },
    dispose() {
      disposed = true;
      reload.cancel();
      offLive();
      offStore();
      for (const t of typingTimers.values()) clearTimeout(t);
      if (conversationView) conversationView.dispose();
    },
  };
}
