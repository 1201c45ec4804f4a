/**
 * Event names. Pipes emits the four `pipes.connected_account.*` events of the WorkOS spec (§5.1). Two aliases exist
 * for apps written against older Pipes-style names: an endpoint subscribed to an alias receives the matching events
 * under the alias name (same id, same data), so its existing `switch (event.event)` keeps working.
 */
export const PIPES_EVENT_NAMES = [
  'pipes.connected_account.connected',
  'pipes.connected_account.reauthorization_needed',
  'pipes.connected_account.disconnected',
  'pipes.connected_account.connection_failed',
] as const;

export type PipesEventName = (typeof PIPES_EVENT_NAMES)[number];

export const EVENT_ALIASES: Readonly<Record<string, readonly PipesEventName[]>> = {
  'pipe.connection.activated': ['pipes.connected_account.connected'],
  'pipe.connection.deactivated': [
    'pipes.connected_account.disconnected',
    'pipes.connected_account.reauthorization_needed',
  ],
};

/** Every name an endpoint may subscribe to or a list may filter on. */
export const SUBSCRIBABLE_EVENT_NAMES: readonly string[] = [
  ...PIPES_EVENT_NAMES,
  ...Object.keys(EVENT_ALIASES),
];

const CANONICAL: ReadonlySet<string> = new Set(PIPES_EVENT_NAMES);

export const isSubscribableEventName = (name: string): boolean =>
  CANONICAL.has(name) || Object.hasOwn(EVENT_ALIASES, name);

/** The canonical names a subscribed or filtered name stands for. */
export function canonicalNamesFor(name: string): readonly PipesEventName[] {
  if (CANONICAL.has(name)) return [name as PipesEventName];
  return Object.hasOwn(EVENT_ALIASES, name) ? EVENT_ALIASES[name]! : [];
}

/**
 * The name under which an endpoint subscribed to `subscribed` receives `event`, or null when it does not receive it.
 * The canonical name wins when an endpoint subscribed to both it and an alias: one delivery per endpoint and event,
 * since receivers dedupe on the event id.
 */
export function deliveredNameFor(subscribed: readonly string[], event: PipesEventName): string | null {
  if (subscribed.includes(event)) return event;
  return subscribed.find((name) => canonicalNamesFor(name).includes(event)) ?? null;
}
