// The Widget tab: the customer widget's look and prechat questions, and the embed snippet.

import {h, append, replace, clear, field, messageBox, busy, copyButton} from './dom.js';
import {api, enc} from './api.js';

const kMaxQuestions = 10;

export function mountWidgetSettings(container, app) {
  const base = '/v1/apps/' + enc(app.id) + '/widget';
  const box = messageBox();
  let disposed = false;

  const color = h('input', {type: 'text', testid: 'widget-color', maxLength: 7, pattern: '#[0-9a-fA-F]{6}',
                            class: 'mono narrow', placeholder: '#2563eb'});
  const swatch = h('input', {type: 'color', class: 'swatch', 'aria-label': 'Pick a colour'});
  const position = h('select', {testid: 'widget-position'}, h('option', {value: 'right'}, 'Bottom right'),
                     h('option', {value: 'left'}, 'Bottom left'));
  const title = h('input', {type: 'text', maxLength: 100, testid: 'widget-title'});
  const welcome = h('textarea', {rows: 3, maxLength: 1000, testid: 'widget-welcome'});
  const logo = h('input', {type: 'url', maxLength: 2048, placeholder: 'https://…', testid: 'widget-logo'});
  const questions = h('div', {class: 'prechat-list', testid: 'prechat-list'});
  const addQuestion = h('button', {type: 'button', class: 'btn btn-small', testid: 'prechat-add'}, 'Add a question');
  const save = h('button', {type: 'submit', class: 'btn btn-primary', testid: 'widget-save'}, 'Save widget');
  const preview = h('div', {class: 'widget-preview'});

  color.addEventListener('input', () => { if (/^#[0-9a-fA-F]{6}$/.test(color.value)) swatch.value = color.value.toLowerCase(); renderPreview(); });
  swatch.addEventListener('input', () => { color.value = swatch.value; renderPreview(); });
  for (const el of [title, welcome, position]) el.addEventListener('input', renderPreview);
  position.addEventListener('change', renderPreview);

  function questionRow(q) {
    const id = h('input', {type: 'text', value: q.id || '', maxLength: 40, pattern: '[a-z0-9_]{1,40}', class: 'mono',
                           placeholder: 'id (e.g. email)', 'aria-label': 'Question id', 'data-field': 'id'});
    const label = h('input', {type: 'text', value: q.label || '', maxLength: 200, placeholder: 'Label shown to the customer',
                              'aria-label': 'Question label', 'data-field': 'label'});
    const type = h('select', {'aria-label': 'Answer type', 'data-field': 'type'},
                   ['text', 'email', 'textarea'].map((t) => h('option', {value: t, selected: t === (q.type || 'text')}, t)));
    const required = h('input', {type: 'checkbox', checked: !!q.required, 'data-field': 'required'});
    const row = h('div', {class: 'prechat-row', testid: 'prechat-question'}, id, label, type,
                  h('label', {class: 'check small'}, required, h('span', null, 'required')),
                  h('button', {type: 'button', class: 'btn btn-small', title: 'Remove', 'aria-label': 'Remove question',
                               onclick: () => { row.remove(); syncAdd(); }}, '✕'));
    return row;
  }

  function syncAdd() {
    addQuestion.disabled = questions.children.length >= kMaxQuestions;
  }

  addQuestion.addEventListener('click', () => {
    const taken = new Set(readQuestions().map((q) => q.id));
    const id = !taken.has('name') ? 'name' : !taken.has('email') ? 'email' : '';
    questions.appendChild(questionRow({id, label: id === 'name' ? 'Your name' : id === 'email' ? 'Your email' : '',
                                       type: id === 'email' ? 'email' : 'text', required: false}));
    syncAdd();
  });

  function readQuestions() {
    return Array.from(questions.children).map((row) => ({
      id: row.querySelector('[data-field=id]').value.trim(),
      label: row.querySelector('[data-field=label]').value.trim(),
      type: row.querySelector('[data-field=type]').value,
      required: row.querySelector('[data-field=required]').checked,
    }));
  }

  function show(w) {
    color.value = w.color || '#2563eb';
    if (/^#[0-9a-fA-F]{6}$/.test(color.value)) swatch.value = color.value.toLowerCase();
    position.value = w.position || 'right';
    title.value = w.title || '';
    welcome.value = w.welcome_text || '';
    logo.value = w.logo_url || '';
    replace(questions, (w.prechat || []).map(questionRow));
    syncAdd();
    renderPreview();
  }

  function renderPreview() {
    // The colour goes through the CSSOM (allowed by style-src 'self'), never an inline style attribute.
    clear(preview);
    const valid = /^#[0-9a-fA-F]{6}$/.test(color.value);
    const head = h('div', {class: 'preview-head'}, title.value || 'Chat with us');
    const bubble = h('div', {class: 'preview-bubble'}, welcome.value || '…');
    const launcher = h('div', {class: 'preview-launcher', 'aria-hidden': 'true'});
    if (valid) {
      head.style.backgroundColor = color.value;
      launcher.style.backgroundColor = color.value;
    }
    preview.classList.toggle('left', position.value === 'left');
    append(preview, h('div', {class: 'preview-panel'}, head, h('div', {class: 'preview-body'}, bubble)), launcher);
  }

  const form = h('form', {class: 'card', onsubmit: (e) => {
    e.preventDefault();
    busy(save, box, async () => {
      const body = {color: color.value.trim(), position: position.value, title: title.value.trim(),
                    welcome_text: welcome.value, logo_url: logo.value.trim(), prechat: readQuestions()};
      const saved = await api('PUT', base, body);
      show(saved);
      box.ok('Saved. The widget picks the change up on its next load.');
    });
  }},
  h('h3', null, 'Appearance'),
  box,
  h('div', {class: 'widget-grid'},
    h('div', {class: 'stack'},
      field('Colour', h('div', {class: 'color-row'}, swatch, color)),
      field('Position', position),
      field('Title', title),
      field('Welcome text', welcome),
      field('Logo URL', logo, 'Optional; https:// recommended.')),
    preview),
  h('h3', null, 'Prechat questions'),
  h('p', {class: 'muted small'}, 'Asked before the first message; answers land in the conversation\'s metadata. ' +
    'Ids "name" and "email" also fill in the customer. Up to ' + kMaxQuestions + '.'),
  questions,
  h('div', {class: 'actions'}, addQuestion),
  h('div', {class: 'actions'}, save));

  // --- embed snippet -----------------------------------------------------------------------
  const embedBox = messageBox();
  const snippet = h('code', {testid: 'embed-snippet'});
  const embedCard = h('section', {class: 'card'},
    h('h3', null, 'Embed on your site'),
    h('p', {class: 'muted small'}, 'Paste this just before </body> on every page that should show the chat.'),
    embedBox,
    h('pre', {class: 'snippet'}, snippet),
    h('div', {class: 'actions'}, copyButton(() => snippet.textContent, 'Copy snippet')));

  api('GET', base).then((w) => { if (!disposed) show(w); }).catch((err) => box.show(err));
  api('GET', base + '/embed').then((r) => { if (!disposed) snippet.textContent = r.html; })
    .catch((err) => embedBox.show(err));

  replace(container, h('div', {class: 'tab-body'}, embedCard, form));
  return {dispose() { disposed = true; }};
}
