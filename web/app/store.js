// Data several views share: the caller's apps and the account's operators (for names and the
// assignee pickers). Views read the cached lists and call refresh*() after changing them.

import {api, listAll, enc, isOperator, getSession} from './api.js';

const listeners = new Set();

export const store = {
  apps: [],
  appsLoaded: false,
  operators: [],  // the account's operators (empty for operator sessions: they cannot list them)
  operatorsLoaded: false,
  // Secrets just shown by a create/rotate, keyed by app id, so a navigation keeps them on
  // screen until dismissed (never persisted).
  freshKeys: new Map(),
};

export function onStoreChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function changed() {
  for (const listener of Array.from(listeners)) listener();
}

export async function refreshApps() {
  store.apps = await listAll('/v1/apps');
  store.appsLoaded = true;
  changed();
  return store.apps;
}

export function findApp(id) {
  return store.apps.find((a) => a.id === id) || null;
}

export async function refreshOperators() {
  if (isOperator()) {
    store.operators = [];
    store.operatorsLoaded = true;
    return store.operators;
  }
  store.operators = await listAll('/v1/operators');
  store.operatorsLoaded = true;
  changed();
  return store.operators;
}

export async function ensureOperators() {
  if (!store.operatorsLoaded) {
    try { await refreshOperators(); } catch (_) { store.operatorsLoaded = true; }
  }
  return store.operators;
}

export function operatorsOfApp(appId) {
  return store.operators.filter((op) => op.status === 'active' && (op.app_ids || []).includes(appId));
}

// A display name for a principal id (acc_…, op_…, cus_…, "bot").
export function principalName(id, type) {
  const me = getSession();
  if (me && id === me.id) return 'You';
  if (type === 'bot' || id === 'bot') return 'Bot';
  if (type === 'system') return 'System';
  if (id && id.startsWith('acc_')) return 'Owner';
  if (id && id.startsWith('op_')) {
    const op = store.operators.find((o) => o.id === id);
    return op ? op.name : 'Operator ' + id.slice(3, 9);
  }
  if (type === 'customer' || (id && id.startsWith('cus_'))) return 'Customer';
  return id || 'Unknown';
}

export async function getApp(id) {
  return api('GET', '/v1/apps/' + enc(id));
}
