/** The built-in sandbox OAuth provider. See README.md in this folder. */

export { SANDBOX_ACCOUNTS, type SandboxAccount } from './accounts.ts';
export { type SandboxCatalogEntry, sandboxCatalogEntry } from './catalog.ts';
export type { SandboxClientRegistration } from './clients.ts';
export type { SandboxStats } from './context.ts';
export { rfc8414WellKnownPath, type SandboxServerMetadata } from './metadata.ts';
export { createSandboxProvider, type SandboxProvider, type SandboxProviderOptions } from './provider.ts';
export { DEFAULT_SANDBOX_SCOPES, SANDBOX_SCOPES, type SandboxScope } from './scopes.ts';
export { DEFAULT_SANDBOX_SETTINGS, type SandboxSettings, type SandboxSettingsPatch } from './settings.ts';
export { createMemorySandboxState, type SandboxStateStore } from './state.ts';
