// The Knowledge tab: the bot's settings, ranked search, and the entries (text passages and
// question/answer pairs). Operators may read and search; only the account edits.

import {h, replace, field, messageBox, busy, confirmButton, formatTime, snippetNodes, debounce} from './dom.js';
import {api, enc, isOperator} from './api.js';

export function mountKnowledge(container, app, ctx) {
  const canEdit = !isOperator();
  const base = '/v1/apps/' + enc(app.id);
  let disposed = false;

  // --- bot settings ------------------------------------------------------------------------
  const botBox = messageBox();
  const botEnabled = h('input', {type: 'checkbox', testid: 'bot-enabled'});
  const botMinScore = h('input', {type: 'number', min: '0', max: '1', step: '0.05', value: '0.6',
                                  testid: 'bot-min-score', class: 'narrow'});
  const botName = h('input', {type: 'text', value: 'Bot', maxLength: 100, testid: 'bot-name'});
  const botSave = h('button', {type: 'button', class: 'btn btn-primary', testid: 'bot-save'}, 'Save bot settings');
  botSave.addEventListener('click', () => busy(botSave, botBox, async () => {
    const minScore = Number(botMinScore.value);
    if (!Number.isFinite(minScore) || minScore < 0 || minScore > 1) throw new Error('minimum score must be between 0 and 1');
    const saved = await api('PUT', base + '/bot', {enabled: botEnabled.checked, min_score: minScore,
                                                   name: botName.value.trim() || 'Bot'});
    showBot(saved);
    botBox.ok('Saved.');
  }));
  function showBot(bot) {
    if (!bot) return;
    botEnabled.checked = !!bot.enabled;
    botMinScore.value = String(bot.min_score);
    botName.value = bot.name || 'Bot';
    if (ctx.setBotName) ctx.setBotName(bot.name);
  }
  const botCard = canEdit ? h('section', {class: 'card'},
    h('h3', null, 'Bot'),
    h('p', {class: 'muted small'}, 'When enabled, new support conversations start as pending and the bot answers ' +
      'questions the knowledge base covers well enough (score ≥ the minimum). Anything else is handed to your team.'),
    botBox,
    h('div', {class: 'form-grid'},
      h('label', {class: 'check'}, botEnabled, h('span', null, 'Answer customers from the knowledge base')),
      field('Minimum score (0–1)', botMinScore),
      field('Bot name', botName)),
    h('div', {class: 'actions'}, botSave)) : null;
  if (canEdit) api('GET', base + '/bot').then(showBot).catch((err) => botBox.show(err));

  // --- search ----------------------------------------------------------------------------
  const searchBox = messageBox();
  const searchInput = h('input', {type: 'search', placeholder: 'Search the knowledge base…', testid: 'kb-search',
                                  'aria-label': 'Search the knowledge base'});
  const hits = h('div', {class: 'kb-hits', testid: 'kb-hits'});
  let searchSeq = 0;
  async function search() {
    const q = searchInput.value.trim();
    const mine = ++searchSeq;
    searchBox.show(null);
    if (!q) { replace(hits); return; }
    try {
      const result = await api('GET', base + '/knowledge/search', undefined, {query: {q, limit: 10}});
      if (disposed || mine !== searchSeq) return;
      const data = result.data || [];
      replace(hits, data.length ? data.map(hitElement) : h('p', {class: 'muted small'}, 'No matching entries.'));
    } catch (err) {
      if (mine === searchSeq) { replace(hits); searchBox.show(err); }
    }
  }
  const searchSoon = debounce(search, 300);
  searchInput.addEventListener('input', searchSoon);
  searchInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); searchSoon.cancel(); search(); } });

  function hitElement(hit, index) {
    const e = hit.entry || {};
    return h('div', {class: 'kb-hit', testid: 'kb-hit', 'data-entry-id': e.id},
             h('div', {class: 'kb-hit-head'},
               h('span', {class: 'rank'}, '#' + (index + 1)),
               h('span', {class: 'tag'}, e.type),
               e.type === 'qa' ? h('strong', null, e.question) : null,
               h('span', {class: ['score', hit.score >= 0.6 ? 'score-good' : '']},
                 'score ' + Math.round((hit.score || 0) * 100) + '%'),
               h('span', {class: 'muted small', title: 'BM25 relevance (orders the hits)'}, 'rank ' + Number(hit.rank || 0).toPrecision(3))),
             h('div', {class: 'kb-snippet'}, snippetNodes(hit.snippet)));
  }

  // --- editor ----------------------------------------------------------------------------
  const formBox = messageBox();
  let editing = null;  // the entry being edited, or null for a new one
  const type = h('select', {testid: 'kb-type'}, h('option', {value: 'qa'}, 'Question & answer'),
                 h('option', {value: 'text'}, 'Text passage'));
  const question = h('input', {type: 'text', maxLength: 2000, testid: 'kb-question'});
  const answer = h('textarea', {rows: 3, testid: 'kb-answer'});
  const content = h('textarea', {rows: 4, testid: 'kb-content'});
  const save = h('button', {type: 'submit', class: 'btn btn-primary', testid: 'kb-save'}, 'Add entry');
  const cancel = h('button', {type: 'button', class: 'btn', hidden: true, onclick: () => resetForm()}, 'Cancel');
  const formTitle = h('h3', null, 'Add an entry');
  const qaFields = h('div', {class: 'qa-fields'}, field('Question', question), field('Answer', answer));
  const contentLabel = h('span', {class: 'field-label'}, 'Content');
  const contentField = h('label', {class: 'field'}, contentLabel, content);

  function syncType() {
    const qa = type.value === 'qa';
    qaFields.classList.toggle('dimmed', !qa);
    contentLabel.textContent = qa ? 'More detail (optional)' : 'Content';
  }
  type.addEventListener('change', syncType);
  syncType();

  function resetForm() {
    editing = null;
    type.value = 'qa';
    question.value = answer.value = content.value = '';
    save.textContent = 'Add entry';
    formTitle.textContent = 'Add an entry';
    cancel.hidden = true;
    formBox.show(null);
    syncType();
  }

  function edit(entry) {
    editing = entry;
    type.value = entry.type;
    question.value = entry.question || '';
    answer.value = entry.answer || '';
    content.value = entry.content || '';
    save.textContent = 'Save entry';
    formTitle.textContent = 'Edit entry';
    cancel.hidden = false;
    syncType();
    form.scrollIntoView({block: 'nearest'});
    (entry.type === 'qa' ? question : content).focus();
  }

  const form = h('form', {class: 'card', onsubmit: (e) => {
    e.preventDefault();
    busy(save, formBox, async () => {
      // A text entry is just content: whatever is in the question/answer boxes is dropped.
      const body = type.value === 'qa'
        ? {type: 'qa', question: question.value.trim(), answer: answer.value.trim(), content: content.value.trim()}
        : {type: 'text', content: content.value.trim()};
      if (editing) await api('PUT', base + '/knowledge/' + enc(editing.id), body);
      else await api('POST', base + '/knowledge', body);
      resetForm();
      formBox.ok('Saved.');
      await loadEntries();
      if (searchInput.value.trim()) search();
    });
  }}, formTitle, formBox, field('Type', type), qaFields, contentField, h('div', {class: 'actions'}, save, cancel));

  // --- entries -----------------------------------------------------------------------------
  const listBox = messageBox();
  const list = h('div', {class: 'kb-list', testid: 'kb-list'});
  const more = h('button', {type: 'button', class: 'btn btn-small', hidden: true}, 'Load more');
  let cursor = null;
  more.addEventListener('click', () => busy(more, listBox, () => loadEntries(true)));

  function entryElement(entry) {
    return h('div', {class: 'kb-item', testid: 'kb-item', 'data-entry-id': entry.id},
             h('div', {class: 'kb-item-head'},
               h('span', {class: 'tag'}, entry.type),
               entry.type === 'qa' ? h('strong', {class: 'kb-question'}, entry.question) : null,
               h('span', {class: 'muted small'}, 'updated ' + formatTime(entry.updated_at))),
             entry.type === 'qa' ? h('div', {class: 'kb-answer'}, entry.answer) : null,
             entry.content ? h('div', {class: 'kb-content'}, entry.content) : null,
             canEdit ? h('div', {class: 'actions'},
               h('button', {type: 'button', class: 'btn btn-small', testid: 'kb-edit', onclick: () => edit(entry)}, 'Edit'),
               confirmButton('Delete', 'Delete this entry?', async () => {
                 try {
                   await api('DELETE', base + '/knowledge/' + enc(entry.id));
                   if (editing && editing.id === entry.id) resetForm();
                   await loadEntries();
                   if (searchInput.value.trim()) search();
                 } catch (err) {
                   listBox.show(err);
                 }
               }, {testid: 'kb-delete', small: true})) : null);
  }

  async function loadEntries(append) {
    const page = await api('GET', base + '/knowledge', undefined,
                           {query: {limit: 100, cursor: append ? cursor : undefined}});
    if (disposed) return;
    const data = page.data || [];
    if (!append) replace(list);
    for (const entry of data) list.appendChild(entryElement(entry));
    if (!append && data.length === 0) list.appendChild(h('p', {class: 'muted small'}, 'No entries yet.'));
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
  }
  loadEntries().catch((err) => listBox.show(err));

  replace(container, h('div', {class: 'tab-body'},
    botCard,
    h('section', {class: 'card'}, h('h3', null, 'Search'), searchInput, searchBox, hits),
    canEdit ? form : null,
    h('section', {class: 'card'}, h('h3', null, 'Entries'), listBox, list, more)));

  return {dispose() { disposed = true; searchSoon.cancel(); }};
}
