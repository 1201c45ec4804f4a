import { jsx } from 'hono/jsx';

const ASYNC_HOOKS = 'node:async_hooks';

/**
 * Keeps hono/jsx from turning on Node's async hooks for the whole process.
 *
 * hono/jsx follows a render across `await` with an `AsyncLocalStorage` when the runtime has one, so that `useContext`
 * works in async components. It looks for one once, at the first render. On Node 20 the first `run()` of an
 * `AsyncLocalStorage` installs async_hooks' promise hooks for the rest of the process's life: from the first page
 * Pipes serves (a dashboard page, a connect-flow page), every promise anywhere pays for them. Measured with callgrind
 * on the relay: about 192 k instructions per relayed request without the hooks, 212 k with them, and 260–336 k for
 * the 15 000 requests after the first page, while the JIT re-optimises.
 *
 * Pipes' pages use no JSX context, so hono's one look is made here, while `process.getBuiltinModule` hides
 * `node:async_hooks`; hono then keeps its synchronous fallback store, which renders the same HTML, and never installs
 * a hook. Called once at start-up, before any page is rendered; later calls change nothing. Hand-written because no
 * hono option turns the lookup off.
 */
export function keepPageRenderingOffAsyncHooks(): void {
  // Any render makes hono look; an empty element is the cheapest.
  const render = () => String(jsx('i', {}));
  const getBuiltinModule = process.getBuiltinModule;
  // Before Node 20.16 there is no getBuiltinModule, and hono, loaded as an ES module, finds no AsyncLocalStorage.
  if (typeof getBuiltinModule !== 'function') return void render();
  process.getBuiltinModule = ((id: string) =>
    id === ASYNC_HOOKS ? undefined : getBuiltinModule(id)) as typeof process.getBuiltinModule;
  try {
    render();
  } finally {
    process.getBuiltinModule = getBuiltinModule;
  }
}
