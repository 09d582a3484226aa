import type { ExternalContextCreator } from '@nestjs/core';
import type { ExternalExceptionFilterContext } from '@nestjs/core/exceptions/external-exception-filter-context.js';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { isObservable, lastValueFrom } from 'rxjs';
import type { DecoratedMethod } from '../discovery/decorated-methods.js';
import type { BroadcastClient } from '../interfaces/broadcast-client.interface.js';
import { PARAM_ARGS_METADATA, WsParamsFactory } from './ws-params.factory.js';

/**
 * An @OnClientMessage handler wrapped the way Nest wraps a gateway's @SubscribeMessage: resolves with
 * the reply (the handler's result after its interceptors, or what an exception filter returned),
 * rejects with what nothing handled.
 */
export type MessageHandler = (
  client: BroadcastClient,
  payload: Record<string, unknown>,
  type: string,
) => Promise<unknown>;

type Method = (...args: unknown[]) => unknown;

const paramsFactory = new WsParamsFactory();

/**
 * The exception filters context of Nest's ExternalContextCreator. Its own filter step (`filters: true`)
 * logs every exception that is not an HttpException at ERROR, WsExceptions included, so a client
 * could fill the log; this library runs the app's filters itself with the same context creator.
 * Nest does not expose it: this is the one place that reaches for the private field.
 */
export function exceptionFiltersOf(creator: ExternalContextCreator): ExternalExceptionFilterContext {
  const filters = (creator as unknown as { filtersContextCreator?: ExternalExceptionFilterContext })
    .filtersContextCreator;
  if (typeof filters?.create !== 'function') {
    throw new Error(
      'nestjs-broadcasting: this @nestjs/core has no ExternalContextCreator.filtersContextCreator, which @OnClientMessage exception filters need; use a supported @nestjs/core version',
    );
  }
  return filters;
}

/**
 * The module key Nest's context creators resolve a handler's class enhancers (guards, pipes,
 * interceptors, filters given as classes) in: the module whose providers hold it. ExternalContextCreator
 * finds the same key by looking the instance up among every module's providers; `host.token` is that
 * module's key in the container. A controller is no provider there: its class enhancers would be
 * silently dropped, so it is refused (undefined).
 */
export function hostModuleKey(m: DecoratedMethod<unknown>): string | undefined {
  const host = m.wrapper.host;
  if (!host || host.providers.get(m.wrapper.token) !== m.wrapper) return undefined;
  return host.token;
}

/**
 * Builds one handler: parameters (`@MessageBody()`, `@ConnectedSocket()`, custom decorators) and
 * pipes, guards and interceptors by ExternalContextCreator in the `ws` context with the call
 * arguments `[client, payload, type]`; then the app's exception filters (method, class, global).
 * A filter's value other than undefined answers the request; undefined leaves the exception
 * unhandled, and what a filter throws replaces it.
 */
export function createMessageHandler(
  creator: ExternalContextCreator,
  filters: ExternalExceptionFilterContext,
  m: DecoratedMethod<unknown>,
  moduleKey: string,
): MessageHandler {
  const instance = m.wrapper.instance as Record<string, Method>;
  const callback = instance[m.method];
  const run = creator.create(
    instance,
    callback,
    m.method,
    PARAM_ARGS_METADATA,
    paramsFactory,
    undefined,
    undefined,
    { guards: true, interceptors: true, filters: false },
    'ws',
  );
  const exceptions = filters.create(instance, callback as never, moduleKey);
  return async (client, payload, type) => {
    try {
      return await run(client, payload, type);
    } catch (err) {
      const host = new ExecutionContextHost([client, payload, type], instance.constructor as never, callback);
      host.setType('ws');
      let answer: unknown = exceptions.invokeCustomFilters(err, host);
      if (isObservable(answer)) answer = await lastValueFrom(answer, { defaultValue: undefined });
      else answer = await answer;
      if (answer === undefined) throw err;
      return answer;
    }
  };
}
