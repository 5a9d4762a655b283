// The Operators tab: the account's operators assigned to this app (and a toggle to see all),
// adding one, status and app assignments, and minting short-lived tokens (shown once).

import {h, replace, field, messageBox, busy, secretBlock, formatTime, confirmButton} from './dom.js';
import {api, enc} from './api.js';
import {store, refreshOperators} from './store.js';

const kTokenLifetimes = [['1', '1 hour'], ['8', '8 hours'], ['24', '24 hours']];

export function mountOperators(container, app) {
  const box = messageBox();
  let disposed = false;
  let showAll = false;
  let operators = [];

  // --- add -------------------------------------------------------------------------------
  const addBox = messageBox();
  const name = h('input', {type: 'text', required: true, maxLength: 200, testid: 'operator-name'});
  const email = h('input', {type: 'email', maxLength: 320, testid: 'operator-email'});
  const addApps = appCheckboxes([app.id]);
  const add = h('button', {type: 'submit', class: 'btn btn-primary', testid: 'operator-add'}, 'Add operator');
  const addForm = h('form', {class: 'card', onsubmit: (e) => {
    e.preventDefault();
    busy(add, addBox, async () => {
      const body = {name: name.value.trim(), app_ids: addApps.value()};
      if (email.value.trim()) body.email = email.value.trim();
      const op = await api('POST', '/v1/operators', body);
      name.value = email.value = '';
      addBox.ok('Added ' + op.name + '. Mint a token below so they can sign in.');
      await load();
    });
  }},
  h('h3', null, 'Add an operator'),
  addBox,
  h('div', {class: 'form-grid'}, field('Name', name), field('Email (optional)', email)),
  field('Apps', addApps.el),
  h('div', {class: 'actions'}, add));

  // --- list ------------------------------------------------------------------------------
  const list = h('div', {class: 'op-list', testid: 'operator-list'});
  const allToggle = h('input', {type: 'checkbox', onchange: () => { showAll = allToggle.checked; render(); }});

  function appCheckboxes(checkedIds) {
    const checked = new Set(checkedIds);
    const boxes = store.apps.map((a) => {
      const input = h('input', {type: 'checkbox', value: a.id, checked: checked.has(a.id)});
      return {input, el: h('label', {class: 'check small'}, input, h('span', null, a.name))};
    });
    return {el: h('div', {class: 'app-checks'}, boxes.map((b) => b.el)),
            value: () => boxes.filter((b) => b.input.checked).map((b) => b.input.value)};
  }

  function operatorElement(op) {
    const rowBox = messageBox();
    const status = h('select', {class: 'compact', testid: 'operator-status', 'aria-label': 'Status',
                                disabled: op.status === 'deleted'},
                     ['active', 'inactive'].concat(op.status === 'deleted' ? ['deleted'] : [])
                       .map((s) => h('option', {value: s, selected: s === op.status}, s)));
    status.addEventListener('change', async () => {
      rowBox.show(null);
      try {
        await api('PATCH', '/v1/operators/' + enc(op.id), {status: status.value});
        await load();
      } catch (err) {
        status.value = op.status;
        rowBox.show(err);
      }
    });

    const apps = appCheckboxes(op.app_ids || []);
    const saveApps = h('button', {type: 'button', class: 'btn btn-small', testid: 'operator-save-apps'}, 'Save apps');
    saveApps.addEventListener('click', () => busy(saveApps, rowBox, async () => {
      await api('PATCH', '/v1/operators/' + enc(op.id), {app_ids: apps.value()});
      await load();
    }));

    const lifetime = h('select', {class: 'compact', testid: 'operator-token-ttl', 'aria-label': 'Token lifetime'},
                       kTokenLifetimes.map(([v, l]) => h('option', {value: v, selected: v === '8'}, l)));
    const mint = h('button', {type: 'button', class: 'btn btn-small btn-primary', testid: 'operator-mint'}, 'Mint token');
    const tokenOut = h('div', {class: 'token-out'});
    mint.addEventListener('click', () => busy(mint, rowBox, async () => {
      const hours = Number(lifetime.value);
      // The server allows at most 24 h ahead of its clock: keep a minute of slack for the 24 h choice.
      const ms = hours * 3600 * 1000 - (hours >= 24 ? 60 * 1000 : 0);
      const result = await api('POST', '/v1/operators/' + enc(op.id) + '/tokens',
                               {expires_at: new Date(Date.now() + ms).toISOString()});
      replace(tokenOut, secretBlock('Operator token (expires ' + formatTime(result.expires_at) + ')', result.token,
                                    'operator-token',
                                    'Shown once. Give it to ' + op.name + ': they paste it on the sign-in page ' +
                                    '(Operator). It stops working when it expires or the operator is deactivated.'));
    }));

    const active = op.status === 'active';
    return h('div', {class: ['op-item', 'card', 'op-' + op.status], testid: 'operator-item', 'data-operator-id': op.id},
             h('div', {class: 'op-head'},
               h('div', null, h('strong', null, op.name), op.email ? h('span', {class: 'muted small'}, ' ' + op.email) : null,
                 h('div', {class: 'muted small'}, op.id + ' · added ' + formatTime(op.created_at))),
               h('div', {class: 'op-controls'}, status,
                 op.status !== 'deleted' ? confirmButton('Delete', 'Delete for good? Their tokens stop working.', async () => {
                   try {
                     await api('PATCH', '/v1/operators/' + enc(op.id), {status: 'deleted'});
                     await load();
                   } catch (err) {
                     rowBox.show(err);
                   }
                 }, {testid: 'operator-delete', small: true}) : null)),
             rowBox,
             op.status !== 'deleted' ? h('details', {class: 'op-apps'}, h('summary', null,
                 'Apps: ' + ((op.app_ids || []).map((id) => (store.apps.find((a) => a.id === id) || {name: id}).name)
                   .join(', ') || 'none')),
               apps.el, h('div', {class: 'actions'}, saveApps)) : null,
             active ? h('div', {class: 'op-token'}, h('span', {class: 'small'}, 'Token valid for'), lifetime, mint) : null,
             tokenOut);
  }

  function render() {
    const shown = showAll ? operators : operators.filter((op) => (op.app_ids || []).includes(app.id));
    replace(list, shown.length ? shown.map(operatorElement)
                               : h('p', {class: 'muted small'}, showAll ? 'No operators yet.'
                                                                        : 'No operators are assigned to this app yet.'));
  }

  async function load() {
    try {
      operators = await refreshOperators();
      if (disposed) return;
      box.show(null);
      render();
    } catch (err) {
      box.show(err);
    }
  }

  replace(container, h('div', {class: 'tab-body'},
    h('p', {class: 'muted'}, 'Operators answer conversations of the apps they are assigned to. They sign in with a ' +
      'token you mint here (valid up to 24 hours).'),
    addForm,
    h('section', {class: 'card'},
      h('div', {class: 'card-head'}, h('h3', null, 'Operators'),
        h('label', {class: 'check small'}, allToggle, h('span', null, 'Show operators of all apps'))),
      box, list)));
  load();
  return {dispose() { disposed = true; }};
}
