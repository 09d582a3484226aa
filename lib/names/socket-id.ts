/** A socket id as Pusher server SDKs require it: `\d+\.\d+`; the part before the dot names the node. */
export const SOCKET_ID = /^\d+\.\d+$/;

/** The node part of a socket id. */
export const nodeOfSocket = (socketId: string): string => socketId.slice(0, socketId.indexOf('.'));
