// The owner dashboard: hash routing, the signed-in shell (sidebar + main), and the app tabs.
//
// Routes:
//   #/login  #/register  #/operator                      sign-in screens
//   #/apps                                               overview
//   #/apps/<id>/<tab>                                    tab: inbox knowledge widget operators webhooks email settings
//   #/apps/<id>/conversations/<conversation id>          the inbox with that conversation open
//
// Accounts see every tab; an operator (signed in with a token) sees its assigned apps' inbox
// and knowledge base only.

import {h, replace, clear} from './dom.js';
import {api, enc, loadSession, getSession, saveSession, isOperator, onUnauthorized} from './api.js';
import {live} from './live.js';
import {store, refreshApps, ensureOperators, findApp, onStoreChange} from './store.js';
import {renderAuth} from './auth.js';
import {renderAppList, createAppForm, keysPanel, mountSettings, appsOverview} from './apps.js';
import {mountInbox} from './inbox.js';
import {mountKnowledge} from './knowledge.js';
import {mountWidgetSettings} from './widget_settings.js';
import {mountOperators} from './operators.js';
import {mountWebhooks, mountEmail} from './delivery.js';

const kTabs = [
  {id: 'inbox', label: 'Inbox', mount: mountInbox, operator: true},
  {id: 'knowledge', label: 'Knowledge', mount: mountKnowledge, operator: true},
  {id: 'widget', label: 'Widget', mount: mountWidgetSettings},
  {id: 'operators', label: 'Operators', mount: mountOperators},
  {id: 'webhooks', label: 'Webhooks', mount: mountWebhooks},
  {id: 'email', label: 'Email', mount: mountEmail},
  {id: 'settings', label: 'Settings', mount: mountSettings},
];

const root = document.getElementById('app');
let shell = null;    // {el, appList, main, liveState, offStore, offLive}
let mounted = null;  // {appId, tab, view}
let authNotice = '';
const botNames = new Map();  // app id -> bot display name (for bot messages)

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return {name: 'home'};
  if (parts[0] === 'login' || parts[0] === 'register' || parts[0] === 'operator') return {name: parts[0]};
  if (parts[0] === 'apps') {
    if (parts.length === 1) return {name: 'apps'};
    const appId = parts[1];
    if (parts[2] === 'conversations' && parts[3]) return {name: 'app', appId, tab: 'inbox', conversationId: parts[3]};
    return {name: 'app', appId, tab: parts[2] || 'inbox'};
  }
  return {name: 'unknown'};
}

function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

// --- session lifecycle ----------------------------------------------------------------------

let landOnFirstApp = false;  // right after signing in, open the first app's inbox rather than the overview

function signedIn() {
  authNotice = '';
  landOnFirstApp = true;
  go('#/apps');
}

function endSession(notice) {
  saveSession(null);
  live.stop();
  teardownShell();
  store.apps = [];
  store.appsLoaded = false;
  store.operators = [];
  store.operatorsLoaded = false;
  store.freshKeys.clear();
  authNotice = notice || '';
  go('#/login');
}

onUnauthorized(() => {
  if (getSession()) endSession('Your session has ended. Please sign in again.');
});
live.onFatal = () => {
  if (getSession()) endSession('Your session has ended. Please sign in again.');
};

async function logout() {
  const session = getSession();
  if (session && session.kind === 'account') {
    try { await api('POST', '/v1/auth/logout', undefined, {token: session.token}); } catch (_) { /* gone */ }
  }
  endSession('');
}

// --- shell ---------------------------------------------------------------------------------

function teardownShell() {
  if (mounted && mounted.view && mounted.view.dispose) mounted.view.dispose();
  mounted = null;
  if (shell) {
    shell.offStore();
    shell.offLive();
    shell = null;
  }
  clear(root);
}

function liveLabel(state) {
  return state === 'live' ? 'live' : state === 'connecting' ? 'connecting' : 'offline';
}

function ensureShell() {
  if (shell) return shell;
  clear(root);
  const session = getSession();
  const liveState = h('span', {class: 'live-state', testid: 'live-state', 'data-state': 'offline', role: 'status'}, 'offline');
  const appList = h('nav', {class: 'app-list', 'aria-label': 'Apps'});
  const main = h('main', {class: 'main', id: 'main'});
  const el = h('div', {class: 'shell'},
    h('aside', {class: 'sidebar'},
      h('div', {class: 'sidebar-top'},
        h('a', {class: 'brand', href: '#/apps'}, h('span', {class: 'brand-mark'}, 'lc'), 'libchat'),
        liveState),
      h('div', {class: 'sidebar-section'}, h('div', {class: 'sidebar-heading'}, isOperator() ? 'Your apps' : 'Apps'),
        appList),
      isOperator() ? null : h('div', {class: 'sidebar-section'}, createAppForm()),
      h('div', {class: 'sidebar-foot'},
        h('div', {class: 'who'},
          h('div', {class: 'who-name', testid: 'who-name'}, session.name || session.email || session.id),
          h('div', {class: 'muted small'}, session.kind === 'operator' ? 'Operator' : session.email)),
        h('button', {type: 'button', class: 'btn btn-small', testid: 'logout', onclick: logout}, 'Sign out'))),
    main);
  root.appendChild(el);
  const offStore = onStoreChange(() => renderAppList(appList, mounted && mounted.appId));
  const offLive = live.onState((state) => {
    liveState.textContent = liveLabel(state);
    liveState.setAttribute('data-state', state);
  });
  shell = {el, appList, main, liveState, offStore, offLive};
  renderAppList(appList, null);
  live.start();
  if (!isOperator()) ensureOperators();
  return shell;
}

// --- pages ---------------------------------------------------------------------------------

function unmount() {
  if (mounted && mounted.view && mounted.view.dispose) mounted.view.dispose();
  mounted = null;
}

async function showOverview() {
  const s = ensureShell();
  unmount();
  if (!store.appsLoaded) await loadApps(s);
  if (landOnFirstApp && store.apps.length > 0) {
    landOnFirstApp = false;
    location.replace('#/apps/' + enc(store.apps[0].id) + '/inbox');
    return;
  }
  landOnFirstApp = false;
  renderAppList(s.appList, null);
  document.title = 'libchat';
  mounted = {appId: null, tab: null, view: appsOverview(s.main)};
}

async function loadApps(s) {
  try {
    await refreshApps();
  } catch (err) {
    if (getSession()) replace(s.main, h('div', {class: 'notice notice-error'}, 'Could not load your apps: ' + err.message));
    throw err;
  }
}

async function showApp(route) {
  const s = ensureShell();
  if (!store.appsLoaded) await loadApps(s);
  const app = findApp(route.appId);
  if (!app) {
    unmount();
    renderAppList(s.appList, null);
    replace(s.main, h('div', {class: 'page'}, h('div', {class: 'empty card'}, 'This app does not exist or you have no ' +
                                                 'access to it. ', h('a', {href: '#/apps'}, 'Back to your apps'), '.')));
    return;
  }
  const tabs = kTabs.filter((t) => !isOperator() || t.operator);
  const tab = tabs.find((t) => t.id === route.tab);
  if (!tab) {
    go('#/apps/' + enc(app.id) + '/inbox');
    return;
  }
  renderAppList(s.appList, app.id);
  document.title = app.name + ' · libchat';
  const sub = {conversationId: route.conversationId || null};
  if (mounted && mounted.appId === app.id && mounted.tab === tab.id && mounted.view) {
    if (mounted.view.update) mounted.view.update(sub);
    return;
  }
  unmount();
  const content = h('div', {class: 'tab-content'});
  const nav = h('nav', {class: 'tabs', role: 'tablist'}, tabs.map((t) =>
    h('a', {href: '#/apps/' + enc(app.id) + '/' + t.id, class: ['tab', t.id === tab.id ? 'active' : ''],
            testid: 'tab-' + t.id, role: 'tab', 'aria-selected': t.id === tab.id ? 'true' : 'false'}, t.label)));
  replace(s.main, h('div', {class: ['app-page', 'tab-' + tab.id + '-page']},
    h('header', {class: 'app-header'},
      h('div', {class: 'app-title'}, h('h1', null, app.name), h('code', {class: 'muted small'}, app.id)),
      nav),
    keysPanel(app.id),
    content));
  const ctx = {
    botName: () => botNames.get(app.id) || 'Bot',
    setBotName: (name) => botNames.set(app.id, name || 'Bot'),
  };
  if (!isOperator() && !botNames.has(app.id)) {
    api('GET', '/v1/apps/' + enc(app.id) + '/bot').then((b) => botNames.set(app.id, (b && b.name) || 'Bot'))
      .catch(() => {});
  }
  const view = tab.mount(content, app, ctx);
  mounted = {appId: app.id, tab: tab.id, view};
  if (view && view.update) view.update(sub);
}

async function render() {
  const route = parseHash();
  const session = getSession();
  if (!session) {
    teardownShell();
    if (route.name !== 'login' && route.name !== 'register' && route.name !== 'operator') {
      location.replace('#/login');
      return;
    }
    renderAuth(root, route.name === 'operator' ? 'token' : route.name, signedIn, authNotice);
    return;
  }
  try {
    if (route.name === 'app') await showApp(route);
    else if (route.name === 'apps') await showOverview();
    else location.replace('#/apps');
  } catch (err) {
    console.warn(err);
  }
}

// --- start ---------------------------------------------------------------------------------

async function start() {
  const session = loadSession();
  if (session && session.kind === 'account') {
    // Refresh the name/email and find out early whether the token still works (401 -> login).
    try {
      const me = await api('GET', '/v1/auth/me');
      const account = me && me.account ? me.account : me;
      if (account && account.id) saveSession({...getSession(), name: account.name, email: account.email});
    } catch (_) {
      // A 401 already ended the session; other errors (server down) keep it.
    }
  }
  window.addEventListener('hashchange', render);
  // Signed in or out in another tab: start over with the stored session.
  window.addEventListener('storage', (e) => {
    if (e.key === 'libchat:dashboard' || e.key === null) location.reload();
  });
  window.addEventListener('online', () => {
    if (getSession() && live.state === 'offline') live.scheduleReconnect(0);
  });
  render();
}

start();
