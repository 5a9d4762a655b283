// End-to-end test of the customer widget and the owner dashboard in Debian's headless Chromium, driven by
// playwright-core. It starts its own libchat-server (temp store, ephemeral port) and a plain customer page on
// another origin whose HTML is the embed snippet the server hands out, then plays both sides:
//   1. a customer writes through the widget; the owner, logged in to the dashboard in a second browser
//      context, sees the conversation appear live, replies; the customer sees the reply without reloading and
//      keeps the conversation over a reload;
//   2. a customer of an app with the knowledge-base bot asks what the knowledge base answers and gets the
//      bot's reply in the widget.
// Screenshots of both sides go to SCREENSHOT_DIR. Any console error or page error fails the step it happened in.
//
// Environment: LIBCHAT_SERVER (the libchat-server binary, required), SCREENSHOT_DIR (default ./screenshots),
// CHROMIUM (default /usr/bin/chromium). Run: `node widget_dashboard.test.mjs` after `npm ci` in this directory.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const STEP_TIMEOUT_MS = 15000;
const BOT_TIMEOUT_MS = 25000;
// Below ctest's TIMEOUT, so that a hang ends here with the servers stopped rather than by ctest's kill.
const WHOLE_RUN_DEADLINE_MS = 270000;

const SERVER_BIN = process.env.LIBCHAT_SERVER;
const SCREENSHOT_DIR = path.resolve(process.env.SCREENSHOT_DIR || path.join(process.cwd(), 'screenshots'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// The flags this machine needs: no sandbox as root, no GPU, and no background traffic to Google's hosts,
// which a closed network refuses.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const OWNER = { email: 'owner@example.com', password: 'correct horse battery staple', name: 'Olivia Owner' };
const KB_QUESTION = 'How do I reset my password?';
const KB_ANSWER = 'Open Settings, then Security, and click Reset password.';
const CUSTOMER_TEXT = 'Hello, my order is late';
const OWNER_REPLY = 'Sorry! It ships today.';
const BOT_QUESTION = 'how can I reset my password';
const WIDGET_SETTINGS = {
  color: '#0a7cff', position: 'right', title: 'Acme support', welcome_text: 'Hi! Ask us anything.', logo_url: '',
  prechat: [{ id: 'name', label: 'Your name', type: 'text', required: true }],
};

function fatal(message) {
  console.error(`browser test: ${message}`);
  process.exit(1);
}

// Preconditions fail (never skip) with the fix in the message: the test command installs all of these.
if (!SERVER_BIN || !fs.existsSync(SERVER_BIN)) fatal(`LIBCHAT_SERVER must name the built libchat-server (got "${SERVER_BIN ?? ''}")`);
if (!fs.existsSync(CHROMIUM)) fatal(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium); scripts/test.sh does`);
if (!fs.existsSync(path.join(HERE, 'node_modules', 'playwright-core'))) {
  fatal(`playwright-core is not installed: run \`npm ci\` in ${HERE} (scripts/test.sh does)`);
}
const { chromium } = await import('playwright-core');

// ---------------------------------------------------------------------------------------------------------
// Processes, cleaned up on every way out.

const cleanups = [];
function cleanupNow() {
  while (cleanups.length > 0) {
    try { cleanups.pop()(); } catch { /* best effort on the way out */ }
  }
}
process.on('exit', cleanupNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => { cleanupNow(); process.exit(1); });
}
setTimeout(() => {
  console.error(`browser test: the whole run took more than ${WHOLE_RUN_DEADLINE_MS / 1000} s; stopping`);
  cleanupNow();
  process.exit(1);
}, WHOLE_RUN_DEADLINE_MS).unref();

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'libchat-browser-'));
cleanups.push(() => fs.rmSync(workDir, { recursive: true, force: true }));
fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
// The directory is this test's: drop an earlier run's pictures so that what is there is from this run.
for (const name of fs.readdirSync(SCREENSHOT_DIR)) {
  if (/^\d+-.*\.png$|^FAILED-.*\.txt$/.test(name)) fs.rmSync(path.join(SCREENSHOT_DIR, name));
}
const serverLogPath = path.join(SCREENSHOT_DIR, 'server.log');

// Starts libchat-server on an ephemeral port of 127.0.0.1 and resolves with its base URL once /health answers.
async function startServer() {
  const log = fs.openSync(serverLogPath, 'w');
  const child = spawn(SERVER_BIN, [], {
    env: {
      ...process.env,
      CHAT_LISTEN: '127.0.0.1:0',
      CHAT_DB: path.join(workDir, 'chat.db'),
      CHAT_DB_SYNC: 'normal',
      CHAT_LOG_LEVEL: 'info',
      CHAT_PASSWORD_MEMORY_KIB: '8192',  // the smallest Argon2id cost: logins in a test need not be slow
      CHAT_PUBLIC_URL: '',               // the embed snippet then names the Host the test asked
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let seen = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`libchat-server did not say where it listens within ${STEP_TIMEOUT_MS / 1000} s; log:\n${seen}`)), STEP_TIMEOUT_MS);
    let listening = false;
    const onData = (chunk) => {
      fs.writeSync(log, chunk);  // the whole run's server log, kept next to the screenshots
      if (listening) return;
      seen += chunk.toString();
      const m = /listening on http:\/\/[^\s:]+:(\d+)/.exec(seen);
      if (m) { listening = true; clearTimeout(timer); resolve(Number(m[1])); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`libchat-server exited (${code ?? signal}) before listening; log:\n${seen}`)); });
  });
  const base = `http://127.0.0.1:${port}`;
  await poll('libchat-server /health answers 200', async () => (await fetch(`${base}/health`)).status === 200);
  return { base, child };
}

// A plain customer website on another origin (localhost vs 127.0.0.1, another port): each page is the embed
// snippet the dashboard would show the owner, and nothing else of libchat.
async function startCustomerSite(pages) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname === '/favicon.ico') { res.writeHead(204); res.end(); return; }
    const body = pages[url.pathname];
    if (body === undefined) { res.writeHead(404, { 'Content-Type': 'text/plain' }); res.end('not found'); return; }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.close());
  return `http://localhost:${server.address().port}`;
}

function customerPage(title, snippet) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif;margin:40px;max-width:720px}</style></head>
<body><h1>${title}</h1><p>Our shop. Questions? Use the chat bubble in the corner.</p>
${snippet}
</body></html>`;
}

// ---------------------------------------------------------------------------------------------------------
// Helpers: REST calls, polling, steps with their own deadline and error checks.

async function api(base, method, pathname, { token, body, expect } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + pathname, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* reported below */ }
  const wanted = expect ?? [200, 201, 204];
  if (!wanted.includes(res.status)) {
    throw new Error(`${method} ${pathname} answered ${res.status} (wanted ${wanted.join('/')}): ${text.slice(0, 500)}`);
  }
  return json;
}

async function poll(what, check, timeoutMs = STEP_TIMEOUT_MS, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting until ${what}${last ? ` (last error: ${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// Console errors and uncaught page errors of one page; a favicon 404 is the only noise tolerated.
function watchErrors(page, who, sink) {
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location()?.url ?? '';
    if (/favicon\.ico/.test(where) || (/favicon/.test(msg.text()) && /404/.test(msg.text()))) return;
    sink.push(`${who} console error: ${msg.text()}${where ? ` (at ${where})` : ''}`);
  });
  page.on('pageerror', (err) => sink.push(`${who} page error: ${err.message}`));
}

let shotCounter = 0;
async function shot(page, name) {
  shotCounter += 1;
  const file = path.join(SCREENSHOT_DIR, `${String(shotCounter).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
}

function makeStepper(pages, errors) {
  // The step's own deadline is a little later than Playwright's, so that a wait that times out reports its
  // locator; this one catches whatever else hangs.
  return async function step(name, fn, timeoutMs = STEP_TIMEOUT_MS + 3000) {
    const started = Date.now();
    let timer;
    try {
      await Promise.race([
        fn(),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no result within ${timeoutMs / 1000} s`)), timeoutMs); }),
      ]);
      if (errors.length > 0) throw new Error(`errors in the browser:\n  ${errors.join('\n  ')}`);
      console.log(`  ok   ${name} (${Date.now() - started} ms)`);
    } catch (e) {
      console.log(`  FAIL ${name}`);
      // What each side showed (an error banner says more than a timeout), next to the screenshots.
      for (const [who, page] of Object.entries(pages())) {
        try {
          await shot(page, `FAILED-${who}`);
          const text = await page.evaluate(() => {
            const host = document.getElementById('libchat-widget');
            return `${document.body.innerText}\n--- widget ---\n${host?.shadowRoot?.textContent ?? '(none)'}`;
          });
          fs.writeFileSync(path.join(SCREENSHOT_DIR, `FAILED-${who}.txt`), `step: ${name}\nurl: ${page.url()}\n\n${text}\n`);
        } catch { /* the page may be gone */ }
      }
      const crashed = server.child.exitCode !== null || server.child.signalCode !== null
        ? ` (libchat-server has exited: ${server.child.exitCode ?? server.child.signalCode}; see ${serverLogPath})` : '';
      throw new Error(`step "${name}" failed: ${e.message}${crashed}`);
    } finally {
      clearTimeout(timer);
    }
  };
}

// ---------------------------------------------------------------------------------------------------------
// Setup shared by both scenarios: server, owner, two apps (a plain one, and one with the bot), the site.

let server;
let browser;
let site;
let ownerToken;
let plainApp;
let botApp;

before(async () => {
  server = await startServer();
  const registered = await api(server.base, 'POST', '/v1/auth/register', { body: OWNER, expect: [201] });
  ownerToken = registered.token;
  assert.ok(ownerToken, 'register returned no token');

  const created1 = await api(server.base, 'POST', '/v1/apps', { token: ownerToken, body: { name: 'Acme Store' }, expect: [201] });
  plainApp = { id: created1.app.id, pk: created1.publishable_key, name: 'Acme Store' };
  await api(server.base, 'PUT', `/v1/apps/${plainApp.id}/widget`, { token: ownerToken, body: WIDGET_SETTINGS, expect: [200] });
  plainApp.snippet = (await api(server.base, 'GET', `/v1/apps/${plainApp.id}/widget/embed`, { token: ownerToken, expect: [200] })).html;

  const created2 = await api(server.base, 'POST', '/v1/apps', { token: ownerToken, body: { name: 'Acme Help' }, expect: [201] });
  botApp = { id: created2.app.id, pk: created2.publishable_key, name: 'Acme Help' };
  await api(server.base, 'POST', `/v1/apps/${botApp.id}/knowledge`, {
    token: ownerToken, body: { type: 'qa', question: KB_QUESTION, answer: KB_ANSWER }, expect: [201],
  });
  await api(server.base, 'PUT', `/v1/apps/${botApp.id}/bot`, {
    token: ownerToken, body: { enabled: true, min_score: 0.5, name: 'Helper' }, expect: [200],
  });
  botApp.snippet = (await api(server.base, 'GET', `/v1/apps/${botApp.id}/widget/embed`, { token: ownerToken, expect: [200] })).html;

  for (const app of [plainApp, botApp]) {
    assert.match(app.snippet, /<script\b[^>]*\bsrc="http:\/\/127\.0\.0\.1:\d+\/widget\.js"/, `embed snippet of ${app.name} loads no {base}/widget.js: ${app.snippet}`);
    assert.ok(app.snippet.includes(`data-key="${app.pk}"`), `embed snippet of ${app.name} lacks data-key="${app.pk}": ${app.snippet}`);
  }
  site = await startCustomerSite({
    '/store.html': customerPage('Acme Store', plainApp.snippet),
    '/help.html': customerPage('Acme Help Center', botApp.snippet),
  });

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  cleanups.push(() => { browser.close().catch(() => {}); });
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (server && server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await Promise.race([new Promise((r) => server.child.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
  }
  cleanupNow();
});

async function newPage(who, errors) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  watchErrors(page, who, errors);
  return { context, page };
}

// Logs the owner in through the dashboard's form (or accepts a session the dashboard kept).
async function loginOwner(page) {
  await page.goto(`${server.base}/`);
  const email = page.locator('[data-testid=login-email]');
  const apps = page.locator('[data-testid=app-item]').first();
  await email.or(apps).first().waitFor();
  if (await email.isVisible()) {
    await email.fill(OWNER.email);
    await page.locator('[data-testid=login-password]').fill(OWNER.password);
    await page.locator('[data-testid=login-submit]').click();
  }
  await apps.waitFor();
}

async function openInbox(page, app) {
  await page.locator(`[data-testid=app-item][data-app-id="${app.id}"]`).click();
  await page.locator('[data-testid=tab-inbox]').click();
  await page.locator('[data-testid=filter-status]').waitFor();
}

// Picks the "all" option of a filter select, whatever its exact value/label casing.
async function selectAll(select) {
  const options = await select.locator('option').evaluateAll(
    (list) => list.map((option) => ({ value: option.value, label: option.textContent.trim().toLowerCase() })));
  const all = options.find((option) => option.value === 'all' || option.label === 'all');
  assert.ok(all, `filter-status has no "all" option (options: ${JSON.stringify(options)})`);
  await select.selectOption(all.value);
}

// The widget mounts in an open shadow root; Playwright's CSS engine pierces it.
function widget(page, testid) {
  return page.locator(`#libchat-widget [data-testid=${testid}]`);
}

async function openWidget(page) {
  await widget(page, 'libchat-launcher').waitFor();
  const panel = widget(page, 'libchat-panel');
  if (!(await panel.isVisible())) await widget(page, 'libchat-launcher').click();
  await panel.waitFor({ state: 'visible' });
}

async function widgetSend(page, text) {
  await widget(page, 'libchat-input').fill(text);
  await widget(page, 'libchat-send').click();
  await page.locator('#libchat-widget .libchat-msg[data-sender-type=customer]', { hasText: text }).waitFor();
}

// ---------------------------------------------------------------------------------------------------------

test('customer writes in the widget, the owner answers live in the dashboard, a reload keeps the conversation', async () => {
  const errors = [];
  const owner = await newPage('owner', errors);
  const customer = await newPage('customer', errors);
  const step = makeStepper(() => ({ owner: owner.page, customer: customer.page }), errors);
  const o = owner.page;
  const c = customer.page;
  let conversationId;

  await step('owner logs in to the dashboard through the form', async () => {
    await loginOwner(o);
    await shot(o, 'owner-apps');
  });

  await step('owner opens the inbox of the app, which is empty and live', async () => {
    await openInbox(o, plainApp);
    await o.locator('[data-testid=live-state]', { hasText: /^\s*live\s*$/i }).waitFor();
    assert.equal(await o.locator('[data-testid=conversation-item]').count(), 0, 'the new app\'s inbox is not empty');
    await shot(o, 'owner-inbox-empty');
  });

  await step('customer page on another origin shows the widget launcher', async () => {
    await c.goto(`${site}/store.html`);
    await widget(c, 'libchat-launcher').waitFor();
    await shot(c, 'customer-page-launcher');
  });

  await step('customer opens the widget: welcome text and the prechat form', async () => {
    await openWidget(c);
    await widget(c, 'libchat-welcome').filter({ hasText: WIDGET_SETTINGS.welcome_text }).waitFor();
    await widget(c, 'libchat-prechat').waitFor();
    await shot(c, 'customer-prechat');
  });

  await step('customer answers the prechat questions', async () => {
    await c.locator('#libchat-widget [data-testid=libchat-prechat] [name=name]').fill('Carla Customer');
    await widget(c, 'libchat-prechat-submit').click();
    await widget(c, 'libchat-input').waitFor({ state: 'visible' });
  });

  await step(`customer writes "${CUSTOMER_TEXT}"`, async () => {
    await widgetSend(c, CUSTOMER_TEXT);
    await shot(c, 'customer-wrote');
  });

  await step('the conversation appears in the owner\'s inbox without a reload, with 1 unread', async () => {
    const item = o.locator('[data-testid=conversation-item]');
    await item.first().waitFor();
    assert.equal(await item.count(), 1, 'more than one conversation in the inbox');
    conversationId = await item.first().getAttribute('data-conversation-id');
    assert.match(conversationId ?? '', /^conv_/, 'conversation-item has no data-conversation-id');
    await poll('the conversation shows 1 unread message',
      async () => (await item.first().locator('[data-testid=conversation-unread]').textContent())?.trim() === '1');
    await shot(o, 'owner-inbox-live');
  });

  await step('owner opens the conversation and sees the customer\'s message', async () => {
    await o.locator(`[data-testid=conversation-item][data-conversation-id="${conversationId}"]`).click();
    await o.locator('[data-testid=conv-messages] .msg[data-sender-type=customer]', { hasText: CUSTOMER_TEXT }).waitFor();
  });

  await step(`owner replies "${OWNER_REPLY}"`, async () => {
    await o.locator('[data-testid=reply-input]').fill(OWNER_REPLY);
    await o.locator('[data-testid=reply-send]').click();
    await o.locator('[data-testid=conv-messages] .msg[data-sender-type=account]', { hasText: OWNER_REPLY }).waitFor();
    await shot(o, 'owner-replied');
  });

  await step('customer sees the owner\'s reply without reloading', async () => {
    await c.locator('#libchat-widget .libchat-msg[data-sender-type=account]', { hasText: OWNER_REPLY }).waitFor();
    await shot(c, 'customer-got-reply');
  });

  await step('after a reload the widget continues the same conversation with both messages', async () => {
    await c.reload();
    await openWidget(c);
    await c.locator('#libchat-widget .libchat-msg[data-sender-type=customer]', { hasText: CUSTOMER_TEXT }).waitFor();
    await c.locator('#libchat-widget .libchat-msg[data-sender-type=account]', { hasText: OWNER_REPLY }).waitFor();
    assert.equal(await widget(c, 'libchat-prechat').isVisible(), false, 'the prechat form is shown again after a reload');
    const session = await c.evaluate((key) => window.localStorage.getItem(key), `libchat:${plainApp.pk}`);
    assert.ok(session, `localStorage has no "libchat:${plainApp.pk}"`);
    assert.equal(JSON.parse(session).conversation_id, conversationId, 'the stored session names another conversation');
    const page = await api(server.base, 'GET', `/v1/apps/${plainApp.id}/conversations`, { token: ownerToken });
    assert.deepEqual(page.data.map((conv) => conv.id), [conversationId], 'the reload created another conversation');
    await shot(c, 'customer-after-reload');
  });

  await owner.context.close();
  await customer.context.close();
});

test('a question the knowledge base answers gets the bot\'s reply in the widget', async () => {
  const errors = [];
  const owner = await newPage('owner', errors);
  const customer = await newPage('customer', errors);
  const step = makeStepper(() => ({ owner: owner.page, customer: customer.page }), errors);
  const o = owner.page;
  const c = customer.page;

  await step('customer of the bot app opens the widget', async () => {
    await c.goto(`${site}/help.html`);
    await openWidget(c);
    // This app has no prechat questions: the input is there at once.
    await widget(c, 'libchat-input').waitFor({ state: 'visible' });
  });

  await step(`customer asks "${BOT_QUESTION}"`, async () => {
    await widgetSend(c, BOT_QUESTION);
  });

  await step('the bot answers from the knowledge base in the widget', async () => {
    await c.locator('#libchat-widget .libchat-msg[data-sender-type=bot]', { hasText: 'Reset password' }).waitFor({ timeout: BOT_TIMEOUT_MS });
    await shot(c, 'customer-bot-answer');
  }, BOT_TIMEOUT_MS + 3000);

  await step('owner sees the bot\'s answer in the dashboard', async () => {
    await loginOwner(o);
    await openInbox(o, botApp);
    await selectAll(o.locator('[data-testid=filter-status]'));
    const item = o.locator('[data-testid=conversation-item]').first();
    await item.click();
    await o.locator('[data-testid=conv-messages] .msg[data-sender-type=customer]', { hasText: BOT_QUESTION }).waitFor();
    await o.locator('[data-testid=conv-messages] .msg[data-sender-type=bot]', { hasText: 'Reset password' }).waitFor();
    await shot(o, 'owner-bot-conversation');
  });

  await owner.context.close();
  await customer.context.close();
});
