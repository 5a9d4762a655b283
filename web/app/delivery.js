// The Webhooks tab (endpoints, secrets shown once, recent deliveries) and the Email tab (email
// provider with write-only secrets, and the delivery policy).

import {h, replace, field, messageBox, busy, secretBlock, formatTime, confirmButton} from './dom.js';
import {api, enc} from './api.js';

const kEvents = ['message.created', 'message.updated', 'message.deleted', 'message.offline', 'conversation.created',
                 'conversation.updated', 'notification', 'notification.delivered', 'notification.failed'];

// --- webhooks ---------------------------------------------------------------------------------

export function mountWebhooks(container, app) {
  const base = '/v1/apps/' + enc(app.id) + '/webhooks';
  const box = messageBox();
  let disposed = false;

  const createBox = messageBox();
  const url = h('input', {type: 'url', required: true, maxLength: 2048, placeholder: 'https://example.com/hooks/libchat',
                          testid: 'webhook-url'});
  const events = eventChecks(['message.created', 'conversation.created', 'conversation.updated']);
  const create = h('button', {type: 'submit', class: 'btn btn-primary', testid: 'webhook-create'}, 'Add endpoint');
  const created = h('div', {class: 'created-secret'});
  const form = h('form', {class: 'card', onsubmit: (e) => {
    e.preventDefault();
    busy(create, createBox, async () => {
      const result = await api('POST', base, {url: url.value.trim(), events: events.value()});
      url.value = '';
      replace(created, secretBlock('Signing secret for ' + result.webhook.url, result.secret, 'webhook-secret',
                                   'Shown once: verify the webhook-signature header with it (Standard Webhooks).'));
      await load();
    });
  }}, h('h3', null, 'Add an endpoint'), createBox, field('URL', url), field('Events', events.el),
  h('div', {class: 'actions'}, create), created);

  const list = h('div', {class: 'wh-list', testid: 'webhook-list'});

  function eventChecks(selected) {
    const chosen = new Set(selected);
    const boxes = kEvents.map((ev) => {
      const input = h('input', {type: 'checkbox', value: ev, checked: chosen.has(ev)});
      return {input, el: h('label', {class: 'check small'}, input, h('span', {class: 'mono'}, ev))};
    });
    return {el: h('div', {class: 'event-checks'}, boxes.map((b) => b.el)),
            value: () => boxes.filter((b) => b.input.checked).map((b) => b.input.value)};
  }

  function webhookElement(wh) {
    const rowBox = messageBox();
    const secretOut = h('div');
    const deliveries = h('div', {class: 'deliveries', hidden: true});
    const enabled = h('input', {type: 'checkbox', checked: !!wh.enabled});
    enabled.addEventListener('change', async () => {
      rowBox.show(null);
      try {
        await api('PATCH', base + '/' + enc(wh.id), {enabled: enabled.checked});
        await load();
      } catch (err) {
        enabled.checked = !enabled.checked;
        rowBox.show(err);
      }
    });
    const showDeliveries = h('button', {type: 'button', class: 'btn btn-small', testid: 'webhook-deliveries'},
                             'Recent deliveries');
    showDeliveries.addEventListener('click', () => busy(showDeliveries, rowBox, async () => {
      if (!deliveries.hidden) { deliveries.hidden = true; return; }
      await loadDeliveries();
      deliveries.hidden = false;
    }));

    async function loadDeliveries() {
      const page = await api('GET', base + '/' + enc(wh.id) + '/deliveries', undefined, {query: {limit: 20}});
      const data = page.data || [];
      replace(deliveries, data.length ? h('table', {class: 'table'},
        h('thead', null, h('tr', null, ['When', 'Event', 'Status', 'Attempts', 'Last result', ''].map((t) => h('th', null, t)))),
        h('tbody', null, data.map(deliveryRow))) : h('p', {class: 'muted small'}, 'No deliveries yet.'));
    }

    function deliveryRow(d) {
      const last = d.attempts && d.attempts.length ? d.attempts[d.attempts.length - 1] : null;
      const result = last ? (last.status_code ? 'HTTP ' + last.status_code : '') + (last.error ? ' ' + last.error : '') +
                            ' (' + last.latency_ms + ' ms)' : (d.last_error || '');
      const retry = d.status === 'failed' || d.status === 'cancelled'
        ? h('button', {type: 'button', class: 'btn btn-small', onclick: async (e) => {
          await busy(e.currentTarget, rowBox, async () => {
            await api('POST', '/v1/apps/' + enc(app.id) + '/deliveries/' + enc(d.id) + '/retry');
            await loadDeliveries();
          });
        }}, 'Retry') : null;
      return h('tr', {'data-delivery-id': d.id},
               h('td', null, formatTime(d.created_at)), h('td', {class: 'mono small'}, d.kind),
               h('td', null, h('span', {class: 'status status-' + d.status}, d.status)),
               h('td', null, String(d.attempt_count)), h('td', {class: 'small'}, result.trim()), h('td', null, retry));
    }

    return h('div', {class: 'wh-item card', testid: 'webhook-item', 'data-webhook-id': wh.id},
             h('div', {class: 'wh-head'},
               h('div', null, h('code', {class: 'wh-url'}, wh.url),
                 h('div', {class: 'muted small'}, (wh.events || []).join(', ')),
                 wh.disabled_reason ? h('div', {class: 'warning small'}, 'Disabled: ' + wh.disabled_reason) : null,
                 wh.previous_secret_expires_at
                   ? h('div', {class: 'muted small'}, 'Previous secret also signs until ' +
                                                      formatTime(wh.previous_secret_expires_at)) : null),
               h('label', {class: 'check small'}, enabled, h('span', null, 'enabled'))),
             rowBox,
             h('div', {class: 'actions'},
               showDeliveries,
               confirmButton('Rotate secret', 'The old secret keeps signing for 24 hours.', async () => {
                 try {
                   const result = await api('POST', base + '/' + enc(wh.id) + '/rotate-secret');
                   replace(secretOut, secretBlock('New signing secret', result.secret, 'webhook-secret',
                                                  'Shown once. The previous secret also signs for the next 24 hours.'));
                 } catch (err) {
                   rowBox.show(err);
                 }
               }, {danger: false, testid: 'webhook-rotate', small: true}),
               confirmButton('Delete', 'Delete this endpoint?', async () => {
                 try {
                   await api('DELETE', base + '/' + enc(wh.id));
                   await load();
                 } catch (err) {
                   rowBox.show(err);
                 }
               }, {testid: 'webhook-delete', small: true})),
             secretOut, deliveries);
  }

  async function load() {
    try {
      const page = await api('GET', base);
      if (disposed) return;
      const data = page.data || [];
      replace(list, data.length ? data.map(webhookElement) : h('p', {class: 'muted small'}, 'No endpoints yet.'));
      box.show(null);
    } catch (err) {
      box.show(err);
    }
  }

  replace(container, h('div', {class: 'tab-body'}, form,
                       h('section', {class: 'card'}, h('h3', null, 'Endpoints'), box, list)));
  load();
  return {dispose() { disposed = true; }};
}

// --- email provider and delivery policy ---------------------------------------------------

// Fields per provider type: [name, label, kind] with kind "text" | "secret" | select options.
const kProviderFields = {
  smtp: [['host', 'Host', 'text'], ['port', 'Port', 'text', '587'], ['security', 'Security', ['starttls', 'tls', 'none']],
         ['username', 'Username', 'text'], ['password', 'Password', 'secret']],
  mailgun: [['domain', 'Domain', 'text'], ['region', 'Region', ['us', 'eu']], ['api_key', 'API key', 'secret']],
  sendgrid: [['api_key', 'API key', 'secret']],
  postmark: [['server_token', 'Server token', 'secret'], ['message_stream', 'Message stream', 'text', 'outbound']],
  ses: [['region', 'Region', 'text', 'us-east-1'], ['access_key_id', 'Access key id', 'text'],
        ['secret_access_key', 'Secret access key', 'secret'], ['session_token', 'Session token (optional)', 'secret']],
};

export function mountEmail(container, app) {
  const base = '/v1/apps/' + enc(app.id);
  let disposed = false;
  let stored = null;  // the provider as GET shows it, or null

  // --- provider ----------------------------------------------------------------------------
  const box = messageBox();
  const state = h('p', {class: 'muted small', testid: 'email-provider-state'}, 'Loading…');
  const type = h('select', {testid: 'email-type'}, Object.keys(kProviderFields).map((t) => h('option', {value: t}, t)));
  const from = h('input', {type: 'text', required: true, placeholder: 'Acme Support <support@acme.example>',
                           testid: 'email-from'});
  const fieldsEl = h('div', {class: 'form-grid'});
  let inputs = {};
  const save = h('button', {type: 'submit', class: 'btn btn-primary', testid: 'email-save'}, 'Save provider');
  const removeWrap = h('span');

  function renderFields() {
    inputs = {};
    const t = type.value;
    const sameType = stored && stored.type === t;
    const settings = sameType ? stored.settings || {} : {};
    const secretsSet = new Set(sameType ? stored.secrets_set || [] : []);
    replace(fieldsEl, kProviderFields[t].map(([name, label, kind, placeholder]) => {
      let control;
      if (Array.isArray(kind)) {
        control = h('select', null, kind.map((o) => h('option', {value: o, selected: settings[name] === o}, o)));
      } else if (kind === 'secret') {
        control = h('input', {type: 'password', autocomplete: 'new-password',
                              placeholder: secretsSet.has(name) ? '•••••• set — leave blank to keep' : 'not set'});
      } else {
        control = h('input', {type: 'text', value: settings[name] || '', placeholder: placeholder || ''});
      }
      control.setAttribute('data-testid', 'email-' + name.replace(/_/g, '-'));
      inputs[name] = {control, kind};
      return field(label + (kind === 'secret' && secretsSet.has(name) ? ' (set)' : ''), control);
    }));
  }
  type.addEventListener('change', renderFields);

  function showProvider(p) {
    stored = p;
    if (p) {
      type.value = p.type;
      from.value = p.from || '';
      state.textContent = 'Configured: ' + p.type + ', updated ' + formatTime(p.updated_at) +
        (p.secrets_set && p.secrets_set.length ? '. Secrets set: ' + p.secrets_set.join(', ') + '.' : '.');
      replace(removeWrap, confirmButton('Remove provider', 'Email deliveries fail until a provider is set again.',
                                        async () => {
                                          try {
                                            await api('DELETE', base + '/email-provider');
                                            showProvider(null);
                                            box.ok('Removed.');
                                          } catch (err) {
                                            box.show(err);
                                          }
                                        }, {testid: 'email-remove'}));
    } else {
      state.textContent = 'No email provider configured: email fallbacks and notifications by email fail.';
      replace(removeWrap);
    }
    renderFields();
  }

  const form = h('form', {class: 'card', onsubmit: (e) => {
    e.preventDefault();
    busy(save, box, async () => {
      const body = {type: type.value, from: from.value.trim()};
      for (const [name, {control}] of Object.entries(inputs)) {
        const value = control.value.trim();
        // Secrets are write-only: a blank one keeps the stored value (same type).
        if (value) body[name] = value;
      }
      showProvider(await api('PUT', base + '/email-provider', body));
      box.ok('Saved.');
    });
  }}, h('h3', null, 'Email provider'), state, box,
  h('div', {class: 'form-grid'}, field('Type', type), field('From', from)), fieldsEl,
  h('div', {class: 'actions'}, save, removeWrap));

  // --- delivery policy -------------------------------------------------------------------
  const policyBox = messageBox();
  const channelWebhook = h('input', {type: 'checkbox', testid: 'policy-webhook'});
  const channelEmail = h('input', {type: 'checkbox', testid: 'policy-email'});
  const offlineAfter = h('input', {type: 'number', min: '0', max: '2592000', step: '1', class: 'narrow',
                                   testid: 'policy-offline-after', 'aria-label': 'Offline after (seconds)'});
  const emailAfter = h('input', {type: 'number', min: '0', max: '2592000', step: '1', class: 'narrow',
                                 testid: 'policy-email-after', 'aria-label': 'Email fallback after (seconds)'});
  const savePolicy = h('button', {type: 'submit', class: 'btn btn-primary', testid: 'policy-save'}, 'Save policy');
  function showPolicy(p) {
    const channels = new Set(p.channels || []);
    channelWebhook.checked = channels.has('webhook');
    channelEmail.checked = channels.has('email');
    offlineAfter.value = String(p.offline_after_s);
    emailAfter.value = String(p.email_fallback_after_s);
  }
  const policyForm = h('form', {class: 'card', onsubmit: (e) => {
    e.preventDefault();
    busy(savePolicy, policyBox, async () => {
      const channels = ['websocket'];
      if (channelWebhook.checked) channels.push('webhook');
      if (channelEmail.checked) channels.push('email');
      const body = {channels, offline_after_s: Number(offlineAfter.value), email_fallback_after_s: Number(emailAfter.value)};
      showPolicy(await api('PUT', base + '/delivery-policy', body));
      policyBox.ok('Saved.');
    });
  }}, h('h3', null, 'Delivery policy'),
  h('p', {class: 'muted small'}, 'The WebSocket always comes first. Then, for a recipient who is not connected or ' +
    'has not read a message in time:'),
  policyBox,
  h('div', {class: 'policy-row'},
    h('label', {class: 'check'}, h('input', {type: 'checkbox', checked: true, disabled: true}),
      h('span', null, 'WebSocket (always)'))),
  h('div', {class: 'policy-row'},
    h('label', {class: 'check'}, channelWebhook, h('span', null, 'Send a "message.offline" webhook when the recipient ' +
      'has had no live connection for')), offlineAfter, h('span', null, 'seconds')),
  h('div', {class: 'policy-row'},
    h('label', {class: 'check'}, channelEmail, h('span', null, 'Email a message still unread after')), emailAfter,
    h('span', null, 'seconds')),
  h('div', {class: 'actions'}, savePolicy));

  api('GET', base + '/email-provider').then((p) => { if (!disposed) showProvider(p); }).catch((err) => {
    if (disposed) return;
    if (err.status === 404) showProvider(null);
    else { showProvider(null); box.show(err); }
  });
  api('GET', base + '/delivery-policy').then((p) => { if (!disposed) showPolicy(p); })
    .catch((err) => policyBox.show(err));

  replace(container, h('div', {class: 'tab-body'}, form, policyForm));
  return {dispose() { disposed = true; }};
}
