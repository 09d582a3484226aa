/** The webhook events Pusher defines. @publicApi */
export type WebhookEventName =
  | 'channel_occupied'
  | 'channel_vacated'
  | 'member_added'
  | 'member_removed'
  | 'client_event'
  | 'cache_miss';

export const WEBHOOK_EVENTS: readonly WebhookEventName[] = [
  'channel_occupied',
  'channel_vacated',
  'member_added',
  'member_removed',
  'client_event',
  'cache_miss',
];

/** One event in a webhook body (Pusher's shapes). @publicApi */
export interface WebhookEvent {
  name: WebhookEventName;
  channel: string;
  user_id?: string;
  event?: string;
  data?: string;
  socket_id?: string;
}
