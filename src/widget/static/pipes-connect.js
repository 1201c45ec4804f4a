/*
 * <pipes-connect>: the Pipes end-user connect widget. Plain browser JavaScript: no build step, no inline script,
 * no markup built from strings (every provider-supplied string is set with textContent). Served by Pipes at
 * /widget/pipes-connect.js.
 *
 *   <script src="https://pipes.example.com/widget/pipes-connect.js" defer></script>
 *   <pipes-connect token="pwt_…" mode="redirect|popup" return-to="https://app.example.com/settings"></pipes-connect>
 *
 * Events (bubbling, composed): pipes:ready, pipes:connected, pipes:disconnected, pipes:cancelled, pipes:error.
 * See docs/widget.md.
 */
(() => {
  if (typeof customElements === 'undefined' || customElements.get('pipes-connect')) return;

  const script = document.currentScript;
  const SCRIPT_BASE = script?.src
    ? script.src.replace(/\/widget\/pipes-connect\.js(?:[?#].*)?$/, '')
    : location.origin;
  /** Query parameters the connect flow adds to return_to (and the hosted page's token): removed once read. */
  const RESULT_PARAMS = [
    'status',
    'provider',
    'connected_account_id',
    'error',
    'error_description',
    'provider_error',
  ];
  const TOKEN_STORAGE_KEY = 'pipes-connect:token';
  /** Big enough for real consent pages (Google, Microsoft, GitHub); shrunk to the screen when it is smaller. */
  const POPUP_SIZE = { width: 720, height: 820 };
  /** A pending popup flow is abandoned after this long (connect links and OAuth state last 10 minutes). */
  const POPUP_GIVE_UP_MS = 11 * 60_000;

  const CSS = `
:host { display: block; font: 15px/1.45 var(--pipes-font, system-ui, -apple-system, "Segoe UI", sans-serif);
  color: var(--pipes-text, #1d1d1f); --accent: var(--pipes-accent, #1d1d1f); }
* { box-sizing: border-box; }
.banner { border-radius: 8px; padding: 0.6rem 0.85rem; margin: 0 0 0.75rem; font-size: 0.95em; }
.banner[hidden] { display: none; }
.banner.success { background: #e8f5ec; color: #155724; }
.banner.error { background: #fdecea; color: #8a1c12; }
.banner.info { background: #eef3fb; color: #1c3d6e; }
ul { list-style: none; margin: 0; padding: 0; border: 1px solid #e3e3e8; border-radius: 10px; }
li { display: flex; gap: 0.85rem; align-items: flex-start; padding: 0.9rem 1rem; }
li + li { border-top: 1px solid #e3e3e8; }
.icon { flex: 0 0 36px; width: 36px; height: 36px; border-radius: 8px; object-fit: contain; background: #f2f2f5; }
.monogram { display: flex; align-items: center; justify-content: center; font-weight: 600; color: #555; }
.body { flex: 1 1 auto; min-width: 0; }
.name { font-weight: 600; margin: 0; }
.description { margin: 0.1rem 0 0; color: #555; font-size: 0.9em; overflow-wrap: anywhere; }
.state { margin: 0.3rem 0 0; font-size: 0.88em; color: #555; overflow-wrap: anywhere; }
.state.connected { color: #155724; }
.state.attention { color: #8a4b00; }
.actions { display: flex; flex-wrap: wrap; gap: 0.4rem; justify-content: flex-end; flex: 0 0 auto; }
button { font: inherit; font-size: 0.9em; padding: 0.4rem 0.9rem; border-radius: 8px; cursor: pointer;
  border: 1px solid var(--accent); background: var(--accent); color: #fff; }
button.secondary { background: #fff; color: var(--accent); }
button.danger { background: #fff; color: #b3261e; border-color: #b3261e; }
button:disabled { opacity: 0.55; cursor: default; }
button:focus-visible { outline: 3px solid #0a66c2; outline-offset: 2px; }
.empty { padding: 1rem; color: #555; }
@media (max-width: 480px) { li { flex-wrap: wrap; } .actions { width: 100%; justify-content: flex-start; } }
`;

  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'text') node.textContent = String(value);
      else if (name === 'onclick') node.addEventListener('click', value);
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  /** The page's own URL without the result parameters, the token and the fragment: the default return_to. */
  function currentPageUrl() {
    const url = new URL(location.href);
    for (const name of [...RESULT_PARAMS, 'token']) url.searchParams.delete(name);
    url.hash = '';
    return url.href;
  }

  function readResultFromUrl() {
    const params = new URLSearchParams(location.search);
    const status = params.get('status');
    const provider = params.get('provider');
    if ((status !== 'connected' && status !== 'failed') || !provider) return null;
    return {
      status,
      provider,
      connected_account_id: params.get('connected_account_id'),
      error: params.get('error'),
      error_description: params.get('error_description'),
    };
  }

  function stripParams(names) {
    const url = new URL(location.href);
    let changed = false;
    for (const name of names) {
      if (url.searchParams.has(name)) {
        url.searchParams.delete(name);
        changed = true;
      }
    }
    if (changed) history.replaceState(history.state, '', url.href);
  }

  function popupFeatures() {
    const availW = screen?.availWidth || POPUP_SIZE.width;
    const availH = screen?.availHeight || POPUP_SIZE.height;
    const width = Math.max(360, Math.min(POPUP_SIZE.width, availW - 24));
    const height = Math.max(480, Math.min(POPUP_SIZE.height, availH - 48));
    const left = Math.max(0, Math.round((window.screenX || 0) + ((window.outerWidth || availW) - width) / 2));
    const top = Math.max(
      0,
      Math.round((window.screenY || 0) + ((window.outerHeight || availH) - height) / 2),
    );
    return `popup=yes,width=${width},height=${height},left=${left},top=${top},resizable=yes,scrollbars=yes`;
  }

  class PipesConnect extends HTMLElement {
    static get observedAttributes() {
      return ['token'];
    }

    constructor() {
      super();
      this._root = this.attachShadow({ mode: 'open' });
      try {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        // Constructed stylesheets are not subject to the page's style-src: the widget keeps its look under a
        // strict CSP without 'unsafe-inline'.
        this._root.adoptedStyleSheets = [sheet];
      } catch {
        this._root.append(el('style', { text: CSS }));
      }
      this._banner = el('div', { class: 'banner', role: 'status', 'aria-live': 'polite', hidden: true });
      this._list = el('div');
      this._root.append(this._banner, this._list);
      this._providers = null;
      this._busy = null; // { slug, message, cancel }
      this._confirming = null; // slug awaiting "Disconnect?" confirmation
      this._watch = null;
      this._started = false;
    }

    get base() {
      return (this.getAttribute('pipes-url') || SCRIPT_BASE).replace(/\/+$/, '');
    }

    get mode() {
      return this.getAttribute('mode') === 'popup' ? 'popup' : 'redirect';
    }

    get hosted() {
      return this.hasAttribute('hosted');
    }

    get token() {
      const attribute = this.getAttribute('token');
      if (attribute) return attribute;
      if (this.hosted) {
        try {
          return sessionStorage.getItem(TOKEN_STORAGE_KEY);
        } catch {
          return null;
        }
      }
      return null;
    }

    connectedCallback() {
      if (this._started) return;
      this._started = true;
      if (this.hosted) {
        const attribute = this.getAttribute('token');
        try {
          if (attribute) sessionStorage.setItem(TOKEN_STORAGE_KEY, attribute);
        } catch {
          // Storage may be off: redirect mode then cannot come back to a working hosted page; popup mode still works.
        }
        // The token was only in the link: keep it out of history, bookmarks and screenshots.
        stripParams(['token']);
      }
      const result = readResultFromUrl();
      if (result !== null) {
        stripParams(RESULT_PARAMS);
        this._pendingResult = result;
      }
      this.refresh();
    }

    disconnectedCallback() {
      if (this._watch) this._watch.stop();
    }

    attributeChangedCallback(name, before, after) {
      if (name === 'token' && this._started && before !== after) this.refresh();
    }

    /** Reloads the list from Pipes. */
    async refresh() {
      if (!this.token) {
        this._renderMessage('This page needs a fresh link from the application: go back and open it again.');
        this._emit('error', { code: 'missing_token', message: 'No widget token.' });
        return;
      }
      if (this._providers === null) this._renderMessage('Loading…');
      try {
        const list = await this._api('GET', '/providers');
        this._providers = list.data;
        this._render();
        if (this._pendingResult) {
          const result = this._pendingResult;
          this._pendingResult = null;
          this._report(result);
        }
        this._emit('ready', { providers: this._providers.length });
      } catch (error) {
        this._renderMessage(this._describe(error));
        this._emit('error', { code: error.code || 'request_failed', message: error.message });
      }
    }

    async _api(method, path, body) {
      const headers = { authorization: `Bearer ${this.token}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      let response;
      try {
        response = await fetch(`${this.base}/widget/api${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          credentials: 'omit',
          cache: 'no-store',
        });
      } catch {
        const error = new Error('Pipes cannot be reached. Check your connection and try again.');
        error.code = 'network_error';
        throw error;
      }
      if (response.status === 204) return null;
      let json = null;
      try {
        json = await response.json();
      } catch {
        json = null;
      }
      if (!response.ok) {
        const error = new Error(json?.message || `Request failed (${response.status}).`);
        error.status = response.status;
        error.code = json?.code || 'request_failed';
        throw error;
      }
      return json;
    }

    _describe(error) {
      if (error.status === 401) return 'This session has expired. Reload the page to continue.';
      return error.message || 'Something went wrong.';
    }

    _emit(name, detail) {
      this.dispatchEvent(new CustomEvent(`pipes:${name}`, { detail, bubbles: true, composed: true }));
    }

    _show(kind, text) {
      this._banner.className = `banner ${kind}`;
      this._banner.setAttribute('role', kind === 'error' ? 'alert' : 'status');
      this._banner.textContent = text;
      this._banner.hidden = false;
    }

    _nameOf(slug) {
      const provider = (this._providers || []).find((p) => p.slug === slug);
      return provider ? provider.name : slug;
    }

    _renderMessage(text) {
      this._list.replaceChildren(el('p', { class: 'empty', text }));
    }

    _render() {
      const providers = this._providers || [];
      if (providers.length === 0) {
        this._renderMessage('No accounts can be connected yet.');
        return;
      }
      const items = providers.map((provider) => this._renderItem(provider));
      this._list.replaceChildren(el('ul', { part: 'list' }, items));
    }

    _renderItem(provider) {
      const connection = provider.connection;
      const busy = this._busy !== null;
      const monogram = () =>
        el('span', {
          class: 'icon monogram',
          'aria-hidden': 'true',
          text: provider.name.slice(0, 1).toUpperCase(),
        });
      let icon = monogram();
      if (provider.icon_url) {
        icon = el('img', { class: 'icon', src: provider.icon_url, alt: '', referrerpolicy: 'no-referrer' });
        // An icon that does not load (offline, blocked by the page's CSP) falls back to the initial.
        icon.addEventListener('error', () => icon.replaceWith(monogram()), { once: true });
      }
      let state;
      if (this._busy && this._busy.slug === provider.slug) {
        state = el('p', { class: 'state', text: this._busy.message });
      } else if (connection === null) {
        state = el('p', {
          class: 'state',
          text: provider.available ? 'Not connected' : 'Not available right now',
        });
      } else if (connection.needs_reauthorization) {
        state = el('p', {
          class: 'state attention',
          text: `${this._accountLabel(connection)} needs to be reconnected`,
        });
      } else {
        state = el('p', { class: 'state connected', text: `Connected as ${this._accountLabel(connection)}` });
      }
      const actions = [];
      const canConnect = provider.connectable && provider.available;
      if (this._busy && this._busy.slug === provider.slug && this._busy.cancel) {
        actions.push(
          el('button', {
            type: 'button',
            class: 'secondary',
            part: 'button',
            text: 'Cancel',
            onclick: this._busy.cancel,
          }),
        );
      } else if (this._confirming === provider.slug && connection !== null) {
        actions.push(
          el('button', {
            type: 'button',
            class: 'danger',
            part: 'button',
            text: `Disconnect ${provider.name}`,
            disabled: busy,
            onclick: () => this._disconnect(provider),
          }),
          el('button', {
            type: 'button',
            class: 'secondary',
            part: 'button',
            text: 'Keep',
            disabled: busy,
            onclick: () => {
              this._confirming = null;
              this._render();
            },
          }),
        );
      } else {
        // Connecting and reauthorizing are the same flow; only the words differ.
        const connectButton = (label) =>
          el('button', {
            type: 'button',
            part: 'button',
            text: label,
            disabled: busy,
            'aria-label': `${label} ${provider.name}`,
            onclick: () => this._connect(provider),
          });
        if (connection === null && canConnect) actions.push(connectButton('Connect'));
        if (connection?.needs_reauthorization && canConnect) actions.push(connectButton('Reauthorize'));
        if (connection !== null) {
          actions.push(
            el('button', {
              type: 'button',
              class: 'secondary',
              part: 'button',
              text: 'Disconnect',
              disabled: busy,
              'aria-label': `Disconnect ${provider.name}`,
              onclick: () => {
                this._confirming = provider.slug;
                this._render();
              },
            }),
          );
        }
      }
      return el('li', { part: 'item', 'data-provider': provider.slug }, [
        icon,
        el('div', { class: 'body' }, [
          el('p', { class: 'name', text: provider.name }),
          provider.description ? el('p', { class: 'description', text: provider.description }) : null,
          state,
        ]),
        el('div', { class: 'actions' }, actions),
      ]);
    }

    _accountLabel(connection) {
      return connection.account_display_name || connection.account_identifier || 'your account';
    }

    /** Must run synchronously inside the click: a popup opened after an `await` is blocked by browsers. */
    _connect(provider) {
      this._confirming = null;
      if (this.mode === 'popup') {
        const popup = window.open('', 'pipes-connect', popupFeatures());
        if (popup) {
          this._connectInPopup(provider, popup);
          return;
        }
        this._show('info', 'The pop-up window was blocked, so the connection continues in this page.');
      }
      this._connectByRedirect(provider);
    }

    /** A connect attempt that failed before the provider's page opened: free the row and tell the page. */
    _failConnect(provider, error) {
      this._setBusy(null);
      this._report({
        status: 'failed',
        provider: provider.slug,
        error: error.code,
        error_description: this._describe(error),
      });
    }

    async _connectByRedirect(provider) {
      this._setBusy(provider.slug, `Opening ${provider.name}…`, null);
      try {
        const returnTo = this.getAttribute('return-to') || currentPageUrl();
        const started = await this._api('POST', `/providers/${encodeURIComponent(provider.slug)}/connect`, {
          mode: 'redirect',
          return_to: returnTo,
        });
        location.assign(started.url);
      } catch (error) {
        this._failConnect(provider, error);
      }
    }

    async _connectInPopup(provider, popup) {
      try {
        popup.document.title = `Connecting ${provider.name}…`;
        popup.document.body.textContent = `Connecting ${provider.name}…`;
      } catch {
        // A reused window already on another origin: it is navigated below anyway.
      }
      let started;
      this._setBusy(provider.slug, `Finish connecting ${provider.name} in the pop-up window…`, () =>
        this._stopWatching({ status: 'cancelled', provider: provider.slug }, popup),
      );
      try {
        started = await this._api('POST', `/providers/${encodeURIComponent(provider.slug)}/connect`, {
          mode: 'popup',
        });
      } catch (error) {
        try {
          popup.close();
        } catch {}
        this._failConnect(provider, error);
        return;
      }
      if (this._busy === null || this._busy.slug !== provider.slug) {
        // Cancelled while the link was being made.
        try {
          popup.close();
        } catch {}
        return;
      }
      popup.location.href = started.url;
      this._watchPopup(provider, popup, started.authorization_id);
    }

    /**
     * Two channels, whichever answers first: the done page's postMessage (checked: Pipes' origin, this popup, our
     * message shape), and polling the attempt's status. Polling is what survives a provider page whose
     * Cross-Origin-Opener-Policy severs the popup from this page: then no message can come, and `popup.closed` reads
     * true although the window is open. So a "closed" popup is never reported as closed on its own word: only when
     * Pipes says the user never left the confirmation screen is it a cancellation.
     */
    _watchPopup(provider, popup, authorizationId) {
      const pipesOrigin = new URL(this.base).origin;
      const startedAt = Date.now();
      let lastPoll = 0;
      let polling = false;
      const onMessage = (event) => {
        if (event.origin !== pipesOrigin || event.source !== popup) return;
        const data = event.data;
        if (data?.source !== 'pipes-connect' || data.type !== 'result') return;
        this._stopWatching(
          {
            status: data.status === 'connected' ? 'connected' : 'failed',
            provider: provider.slug,
            connected_account_id: data.connected_account_id || null,
            error: data.error || null,
            error_description: data.error_description || null,
          },
          popup,
        );
      };
      const tick = async () => {
        if (polling) return;
        let closed = false;
        try {
          closed = popup.closed;
        } catch {
          closed = false;
        }
        const now = Date.now();
        if (now - lastPoll < (closed ? 1500 : 3000)) return;
        if (now - startedAt > POPUP_GIVE_UP_MS) {
          this._stopWatching({ status: 'expired', provider: provider.slug }, popup);
          return;
        }
        lastPoll = now;
        polling = true;
        let attempt;
        try {
          attempt = await this._api('GET', `/authorizations/${encodeURIComponent(authorizationId)}`);
        } catch (error) {
          polling = false;
          if (error.status === 401 || error.status === 404) {
            this._stopWatching(
              {
                status: 'failed',
                provider: provider.slug,
                error: error.code,
                error_description: this._describe(error),
              },
              popup,
            );
          }
          return;
        }
        polling = false;
        if (this._watch === null || this._watch.id !== authorizationId) return;
        if (attempt.status === 'connected') {
          this._stopWatching(
            {
              status: 'connected',
              provider: provider.slug,
              connected_account_id: attempt.connected_account_id,
            },
            popup,
          );
        } else if (attempt.status === 'failed') {
          this._stopWatching({ status: 'failed', provider: provider.slug }, popup);
        } else if (attempt.status === 'expired') {
          this._stopWatching({ status: 'expired', provider: provider.slug }, popup);
        } else if (closed && attempt.stage === 'confirming') {
          this._stopWatching({ status: 'cancelled', provider: provider.slug }, popup);
        }
      };
      window.addEventListener('message', onMessage);
      const timer = setInterval(tick, 500);
      this._watch = {
        id: authorizationId,
        stop: () => {
          clearInterval(timer);
          window.removeEventListener('message', onMessage);
        },
      };
    }

    _stopWatching(result, popup) {
      if (this._watch) {
        this._watch.stop();
        this._watch = null;
      }
      try {
        if (popup && !popup.closed) popup.close();
      } catch {
        // Severed by COOP: the done page asks the user to close it.
      }
      this._setBusy(null);
      this._report(result);
    }

    _setBusy(slug, message, cancel) {
      this._busy = slug === null ? null : { slug, message, cancel };
      if (this._providers !== null) this._render();
    }

    _report(result) {
      const name = this._nameOf(result.provider);
      if (result.status === 'connected') {
        this._show('success', `${name} is connected.`);
        this._emit('connected', {
          provider: result.provider,
          connectedAccountId: result.connected_account_id || null,
        });
        this.refresh();
      } else if (result.status === 'cancelled') {
        this._show('info', `Connecting ${name} was cancelled.`);
        this._emit('cancelled', { provider: result.provider });
      } else if (result.status === 'expired') {
        this._show('info', `Connecting ${name} was not finished in time. Try again.`);
        this._emit('cancelled', { provider: result.provider, reason: 'expired' });
      } else {
        const why = result.error_description || 'Try again.';
        this._show('error', `${name} was not connected. ${why}`);
        this._emit('error', {
          provider: result.provider,
          code: result.error || 'connection_failed',
          message: why,
        });
        this.refresh();
      }
    }

    async _disconnect(provider) {
      const connection = provider.connection;
      this._confirming = null;
      this._setBusy(provider.slug, `Disconnecting ${provider.name}…`, null);
      try {
        await this._api('POST', `/providers/${encodeURIComponent(provider.slug)}/disconnect`, {
          connected_account_id: connection.id,
        });
        this._setBusy(null);
        this._show('success', `${provider.name} is disconnected.`);
        this._emit('disconnected', { provider: provider.slug, connectedAccountId: connection.id });
      } catch (error) {
        this._setBusy(null);
        this._show('error', `${provider.name} was not disconnected. ${this._describe(error)}`);
        this._emit('error', {
          provider: provider.slug,
          code: error.code || 'request_failed',
          message: error.message,
        });
      }
      this.refresh();
    }
  }

  customElements.define('pipes-connect', PipesConnect);
})();
