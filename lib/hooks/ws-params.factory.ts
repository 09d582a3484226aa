import type { ParamData } from '@nestjs/common';
import type { ParamsFactory } from '@nestjs/core/helpers/external-context-creator.js';

/**
 * The metadata key of Nest's parameter decorators (`ROUTE_ARGS_METADATA` of @nestjs/common, which
 * @nestjs/websockets' `PARAM_ARGS_METADATA` equals): `@MessageBody()` and `@ConnectedSocket()` write
 * under it.
 */
export const PARAM_ARGS_METADATA = '__routeArguments__';

/** @nestjs/websockets' `WsParamtype` values this library fills. */
const SOCKET = 0;
const PAYLOAD = 3;

/**
 * Fills `@ConnectedSocket()` and `@MessageBody(data?)` of an @OnClientMessage handler from its call
 * arguments `[client, payload, type]`, as @nestjs/websockets' own factory does for a gateway.
 */
export class WsParamsFactory implements ParamsFactory {
  exchangeKeyForValue(type: number, data: ParamData, args: unknown[]): unknown {
    if (!args) return undefined;
    switch (type) {
      case SOCKET:
        return args[0];
      case PAYLOAD: {
        const payload = args[1] as Record<string, unknown> | undefined;
        return data ? payload?.[data as string] : payload;
      }
      default:
        return undefined;
    }
  }
}
