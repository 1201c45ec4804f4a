export { DELIVERY_ATTEMPT_HEADER, DELIVERY_ID_HEADER } from './deliver.ts';
export { DEFAULT_RETRY_SCHEDULE_MS } from './schedule.ts';
export { RESPONSE_EXCERPT_BYTES } from './send.ts';
export { startWebhookWorker, type WebhookWorker, type WebhookWorkerOptions } from './worker.ts';
