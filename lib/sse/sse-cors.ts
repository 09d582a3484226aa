/** CORS for an allowed origin (the caller checked it): browsers may read the stream and send commands. */
export function corsHeaders(origin: string | undefined): Record<string, string> {
  if (origin === undefined) return {};
  return { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', vary: 'Origin' };
}

/** A preflight's answer: the commands' headers, cached for 10 minutes (the URL never changes). */
export const PREFLIGHT_HEADERS: Readonly<Record<string, string>> = {
  'access-control-allow-methods': 'GET, POST',
  'access-control-allow-headers': 'content-type, last-event-id, x-socket-id, x-broadcast-token',
  'access-control-max-age': '600',
};
