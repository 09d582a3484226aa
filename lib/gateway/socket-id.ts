/** A socket id as Pusher server SDKs require it: `\d+\.\d+` (see BroadcastHub.nextSocketId). */
export const SOCKET_ID = /^\d+\.\d+$/;
