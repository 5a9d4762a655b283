// Sign-in screens: account login, account registration, and operator sign-in with a token
// minted by the account (POST /v1/operators/{id}/tokens).

import {h, field, messageBox, busy} from './dom.js';
import {api, saveSession, ApiError} from './api.js';

// mode: "login" | "register" | "token". onSignedIn() is called once the session is saved.
export function renderAuth(root, mode, onSignedIn, notice) {
  const box = messageBox();
  if (notice) box.show(notice, 'info');

  const tabs = h('nav', {class: 'auth-tabs'},
                 h('a', {href: '#/login', class: mode === 'login' ? 'active' : '', testid: 'show-login'}, 'Sign in'),
                 h('a', {href: '#/register', class: mode === 'register' ? 'active' : '', testid: 'show-register'},
                   'Create account'),
                 h('a', {href: '#/operator', class: mode === 'token' ? 'active' : '', testid: 'show-token'},
                   'Operator'));

  let form;
  if (mode === 'register') form = registerForm(box, onSignedIn);
  else if (mode === 'token') form = tokenForm(box, onSignedIn);
  else form = loginForm(box, onSignedIn);

  root.appendChild(h('div', {class: 'auth-page'},
                     h('div', {class: 'auth-card'},
                       h('div', {class: 'brand brand-large'}, h('span', {class: 'brand-mark'}, 'lc'), 'libchat'),
                       tabs, box, form)));
  const first = form.querySelector('input, textarea');
  if (first) first.focus();
}

function accountSession(result) {
  return {kind: 'account', token: result.token, expires_at: result.expires_at, id: result.account.id,
          account_id: result.account.id, name: result.account.name, email: result.account.email};
}

function loginForm(box, onSignedIn) {
  const email = h('input', {type: 'email', autocomplete: 'username', required: true, testid: 'login-email'});
  const password = h('input', {type: 'password', autocomplete: 'current-password', required: true,
                               testid: 'login-password'});
  const submit = h('button', {type: 'submit', class: 'btn btn-primary btn-block', testid: 'login-submit'}, 'Sign in');
  const form = h('form', {class: 'stack', onsubmit: (e) => {
    e.preventDefault();
    busy(submit, box, async () => {
      const result = await api('POST', '/v1/auth/login', {email: email.value.trim(), password: password.value},
                               {auth: false});
      saveSession(accountSession(result));
      onSignedIn();
    });
  }}, field('Email', email), field('Password', password), submit,
  h('p', {class: 'muted small'}, 'No account yet? ', h('a', {href: '#/register'}, 'Create one'), '.'));
  return form;
}

function registerForm(box, onSignedIn) {
  const name = h('input', {type: 'text', autocomplete: 'name', required: true, testid: 'register-name'});
  const email = h('input', {type: 'email', autocomplete: 'username', required: true, testid: 'register-email'});
  const password = h('input', {type: 'password', autocomplete: 'new-password', required: true,
                               testid: 'register-password'});
  const submit = h('button', {type: 'submit', class: 'btn btn-primary btn-block', testid: 'register-submit'},
                   'Create account');
  return h('form', {class: 'stack', onsubmit: (e) => {
    e.preventDefault();
    busy(submit, box, async () => {
      const result = await api('POST', '/v1/auth/register',
                               {name: name.value.trim(), email: email.value.trim(), password: password.value},
                               {auth: false});
      saveSession(accountSession(result));
      onSignedIn();
    });
  }}, field('Name', name), field('Email', email), field('Password', password, 'At least 8 characters.'), submit);
}

function tokenForm(box, onSignedIn) {
  const token = h('textarea', {rows: 4, required: true, class: 'mono', testid: 'login-token',
                               placeholder: 'Paste the operator token your administrator gave you'});
  const submit = h('button', {type: 'submit', class: 'btn btn-primary btn-block', testid: 'login-token-submit'},
                   'Sign in as operator');
  return h('form', {class: 'stack', onsubmit: (e) => {
    e.preventDefault();
    busy(submit, box, async () => {
      const value = token.value.trim();
      const check = await api('POST', '/v1/tokens/validate', {token: value}, {auth: false});
      if (!check || !check.valid) throw new ApiError(401, 'unauthenticated', (check && check.error) || 'invalid token');
      if (check.principal_type !== 'operator') {
        throw new ApiError(400, 'invalid_argument', 'this is not an operator token; sign in with email and password');
      }
      const next = {kind: 'operator', token: value, expires_at: check.expires_at, id: check.operator_id,
                    account_id: check.account_id, name: 'Operator', email: ''};
      try {
        const me = await api('GET', '/v1/operators/' + encodeURIComponent(check.operator_id), undefined,
                             {token: value});
        next.name = me.name || next.name;
        next.email = me.email || '';
      } catch (_) {
        // Name lookup is cosmetic.
      }
      saveSession(next);
      onSignedIn();
    });
  }}, field('Operator token', token, 'Tokens last at most 24 hours.'), submit);
}
