// Apps: the sidebar list and create form, the keys shown once after creation or rotation,
// and the app's Settings tab (name, keys, assignment mode, identity verification, delete).

import {h, replace, field, messageBox, busy, copyButton, secretBlock, confirmButton, formatTime} from './dom.js';
import {api, enc, isOperator} from './api.js';
import {store, refreshApps} from './store.js';

// The sidebar's list of apps (one [data-testid=app-item] per app).
export function renderAppList(listEl, currentAppId) {
  replace(listEl, store.apps.map((app) =>
    h('a', {class: ['app-item', app.id === currentAppId ? 'active' : ''], href: '#/apps/' + enc(app.id) + '/inbox',
            testid: 'app-item', 'data-app-id': app.id, title: app.id},
      h('span', {class: 'app-dot'}, (app.name || '?').slice(0, 1).toUpperCase()),
      h('span', {class: 'app-name'}, app.name))));
  if (store.appsLoaded && store.apps.length === 0) {
    listEl.appendChild(h('p', {class: 'muted small sidebar-empty'},
                         isOperator() ? 'No apps are assigned to you yet.' : 'No apps yet: create one below.'));
  }
}

// The create-app form (accounts only). On success the keys are kept in store.freshKeys and the
// browser goes to the new app, where keysPanel() shows them once.
export function createAppForm() {
  const box = messageBox();
  const name = h('input', {type: 'text', placeholder: 'New app name', required: true, maxLength: 200,
                           testid: 'app-name-input', 'aria-label': 'New app name'});
  const submit = h('button', {type: 'submit', class: 'btn btn-primary', testid: 'app-create'}, 'Create');
  return h('form', {class: 'create-app', onsubmit: (e) => {
    e.preventDefault();
    busy(submit, box, async () => {
      const created = await api('POST', '/v1/apps', {name: name.value.trim()});
      store.freshKeys.set(created.app.id, {kind: 'created', publishable_key: created.publishable_key,
                                           secret_key: created.secret_key, identity_secret: created.identity_secret});
      name.value = '';
      await refreshApps();
      location.hash = '#/apps/' + enc(created.app.id) + '/inbox';
    });
  }}, h('div', {class: 'create-app-row'}, name, submit), box);
}

// Keys shown once (after creation or a rotation); dismissing forgets them for good.
export function keysPanel(appId, onDismiss) {
  const fresh = store.freshKeys.get(appId);
  if (!fresh) return null;
  const dismiss = h('button', {type: 'button', class: 'btn', testid: 'keys-dismiss', onclick: () => {
    store.freshKeys.delete(appId);
    panel.remove();
    if (onDismiss) onDismiss();
  }}, 'I have saved them');
  const warning = 'Copy the secret now: it is shown only this once and cannot be recovered (rotate it if lost).';
  const panel = h('section', {class: 'card keys-panel', testid: 'app-keys'},
                  h('h3', null, fresh.kind === 'created' ? 'Your app is ready' : 'New key'),
                  fresh.publishable_key ? h('div', {class: 'secret'},
                    h('div', {class: 'secret-title'}, 'Publishable key (embed it in the widget and SDKs)'),
                    h('div', {class: 'secret-row'}, h('code', {class: 'secret-value', testid: 'app-publishable-key'},
                                                      fresh.publishable_key), copyButton(fresh.publishable_key))) : null,
                  fresh.secret_key ? secretBlock('Secret key (server-to-server, X-API-Key)', fresh.secret_key,
                                                 'app-secret-key', warning) : null,
                  fresh.identity_secret ? secretBlock('Identity secret (HMAC key for customers\' user_hash)',
                                                      fresh.identity_secret, 'app-identity-secret') : null,
                  h('div', {class: 'actions'}, dismiss));
  return panel;
}

// The Settings tab.
export function mountSettings(container, app) {
  const box = messageBox();
  let current = app;

  const nameInput = h('input', {type: 'text', value: app.name, maxLength: 200, required: true, testid: 'app-rename-input'});
  const saveName = h('button', {type: 'submit', class: 'btn btn-primary', testid: 'app-rename'}, 'Save');
  const identity = h('input', {type: 'checkbox', checked: !!app.identity_verification, testid: 'app-identity-verification'});
  const pkCode = h('code', {class: 'secret-value', testid: 'app-pk'}, app.publishable_key);
  const rotated = h('div', {class: 'rotated'});

  const assignBox = messageBox();
  const assignMode = h('select', {testid: 'assignment-mode'},
                       h('option', {value: 'manual'}, 'Manual: someone assigns each conversation'),
                       h('option', {value: 'round_robin'}, 'Round robin among online operators'));
  const assignSave = h('button', {type: 'button', class: 'btn btn-primary', testid: 'assignment-save'}, 'Save');
  api('GET', '/v1/apps/' + enc(app.id) + '/assignment').then((a) => { if (a && a.mode) assignMode.value = a.mode; })
    .catch((err) => assignBox.show(err));
  assignSave.addEventListener('click', () => busy(assignSave, assignBox, async () => {
    const a = await api('PUT', '/v1/apps/' + enc(app.id) + '/assignment', {mode: assignMode.value});
    assignMode.value = a.mode;
    assignBox.ok('Saved.');
  }));

  function rotate(kind) {
    return async () => {
      box.show(null);
      try {
        const result = await api('POST', '/v1/apps/' + enc(app.id) + '/keys/rotate', {kind});
        current = result.app || current;
        pkCode.textContent = current.publishable_key;
        const warning = kind === 'secret'
          ? 'The old secret key stopped working. Copy this one now: it is shown only once.'
          : 'The old publishable key stopped working: update the widget snippet on your site.';
        replace(rotated, secretBlock(kind === 'secret' ? 'New secret key' : 'New publishable key', result.key,
                                     kind === 'secret' ? 'app-secret-key' : 'app-new-publishable-key', warning));
        await refreshApps();
      } catch (err) {
        box.show(err);
      }
    };
  }

  const view = h('div', {class: 'tab-body'},
    box,
    h('section', {class: 'card'},
      h('h3', null, 'App'),
      h('form', {class: 'row-form', onsubmit: (e) => {
        e.preventDefault();
        busy(saveName, box, async () => {
          current = await api('PATCH', '/v1/apps/' + enc(app.id), {name: nameInput.value.trim()});
          await refreshApps();
          box.ok('Saved.');
        });
      }}, field('Name', nameInput), saveName),
      h('dl', {class: 'kv'},
        h('dt', null, 'App id'), h('dd', null, h('code', null, app.id), ' ', copyButton(app.id)),
        h('dt', null, 'Created'), h('dd', null, formatTime(app.created_at))),
      h('label', {class: 'check'}, identity,
        h('span', null, 'Require identity verification (customers with an external_id must send user_hash)'))),
    h('section', {class: 'card'},
      h('h3', null, 'Keys'),
      h('div', {class: 'secret'},
        h('div', {class: 'secret-title'}, 'Publishable key'),
        h('div', {class: 'secret-row'}, pkCode, copyButton(() => pkCode.textContent))),
      h('p', {class: 'muted small'}, 'The secret key is stored hashed and cannot be shown again. Rotating a key ' +
        'makes the old one stop working at once.'),
      h('div', {class: 'actions'},
        confirmButton('Rotate secret key', 'The current secret key stops working now.', rotate('secret'),
                      {testid: 'rotate-secret'}),
        confirmButton('Rotate publishable key', 'The widget on your site stops working until you update it.',
                      rotate('publishable'), {testid: 'rotate-publishable'})),
      rotated),
    h('section', {class: 'card'},
      h('h3', null, 'Assignment'),
      assignBox,
      h('div', {class: 'row-form'}, field('New conversations handed to the team', assignMode), assignSave)),
    h('section', {class: 'card danger-zone'},
      h('h3', null, 'Delete app'),
      h('p', {class: 'muted small'}, 'Deletes the app, its conversations and settings. Its keys stop working at once.'),
      confirmButton('Delete app', 'Delete "' + app.name + '" for good?', async () => {
        try {
          await api('DELETE', '/v1/apps/' + enc(app.id));
          store.freshKeys.delete(app.id);
          await refreshApps();
          location.hash = '#/apps';
        } catch (err) {
          box.show(err);
        }
      }, {testid: 'app-delete'})));

  identity.addEventListener('change', async () => {
    box.show(null);
    try {
      current = await api('PATCH', '/v1/apps/' + enc(app.id), {identity_verification: identity.checked});
      box.ok('Saved.');
    } catch (err) {
      identity.checked = !identity.checked;
      box.show(err);
    }
  });

  replace(container, view);
  return {dispose() {}};
}

export function appsOverview(container) {
  const box = messageBox();
  const operator = isOperator();
  const list = h('div', {class: 'app-cards'});
  function render() {
    replace(list, store.apps.map((app) =>
      h('a', {class: 'card app-card', href: '#/apps/' + enc(app.id) + '/inbox', 'data-app-id': app.id},
        h('h3', null, app.name), h('code', {class: 'small'}, app.publishable_key),
        h('div', {class: 'muted small'}, 'created ' + formatTime(app.created_at)))));
  }
  render();
  replace(container, h('div', {class: 'page'},
                       h('header', {class: 'page-header'}, h('h1', null, 'Apps')),
                       box,
                       store.apps.length === 0
                         ? h('div', {class: 'empty card'}, operator
                           ? 'No apps are assigned to you yet. Ask the account owner to assign one.'
                           : 'Create your first app with the form in the sidebar: you get its keys, a widget to embed ' +
                             'and an inbox.')
                         : list));
  return {dispose() {}};
}

