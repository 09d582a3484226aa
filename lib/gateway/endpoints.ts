import { Inject, Injectable, RequestMethod, VERSION_NEUTRAL } from '@nestjs/common';
import { MODULE_PATH } from '@nestjs/common/constants.js';
import { ApplicationConfig, ModulesContainer } from '@nestjs/core';
import { RoutePathFactory } from '@nestjs/core/router/route-path-factory.js';
import { AUTH_ROUTES, BroadcastingAuthController } from '../auth/broadcasting-auth.controller.js';
import type { BroadcastOptions } from '../config/options.interface.js';
import { BROADCAST_OPTIONS } from '../constants.js';
import { PUSHER_PATH_PREFIX } from './broadcast-ws.adapter.js';

/** Where clients reach this app, as the start-up log line says it. */
export interface EndpointPaths {
  /** The native protocol's WebSocket path (`path`): never under the global prefix. */
  native: string;
  /** The Pusher protocol's WebSocket path, `/app/{key}`: never under the global prefix. */
  pusher: string;
  /** `POST` routes of the auth controller: under the global prefix (unless excluded) and a RouterModule path. */
  channelAuth: string;
  userAuth: string;
  /** Pusher's HTTP API, served ahead of the router (no prefix), when `httpApi` is on. */
  httpApi?: string;
  /** The native protocol over Server-Sent Events (`{path}/sse`, no prefix), when `sse` is on. */
  sse?: string;
}

/**
 * The real paths of the module's endpoints in this app. WebSocket upgrades and the Pusher HTTP API
 * are matched on the raw HTTP server, so the app's global prefix does not apply to them; the auth
 * routes are a Nest controller, so it does: their paths come from Nest's own RoutePathFactory
 * (the prefix unless an `exclude` entry matches, the module's RouterModule path, version-neutral).
 */
@Injectable()
export class Endpoints {
  constructor(
    @Inject(BROADCAST_OPTIONS) private readonly options: BroadcastOptions,
    private readonly config: ApplicationConfig,
    private readonly modules: ModulesContainer,
  ) {}

  paths(): EndpointPaths {
    const o = this.options;
    const modulePath = this.modulePath();
    return {
      native: o.path,
      pusher: `${PUSHER_PATH_PREFIX}${o.key}`,
      channelAuth: this.routePath(modulePath, AUTH_ROUTES.channel),
      userAuth: this.routePath(modulePath, AUTH_ROUTES.user),
      ...(o.httpApi && { httpApi: `/apps/${o.appId}/…` }),
      ...(o.sse && { sse: `${o.path.replace(/\/$/, '')}/sse` }),
    };
  }

  /** One line for the log: the WebSocket paths first, then the HTTP ones. */
  describe(): string {
    const p = this.paths();
    return (
      `WebSocket endpoints: ${p.native} (native protocol), ${p.pusher} (Pusher protocol); ` +
      `auth: POST ${p.channelAuth} (channels), POST ${p.userAuth} (user sign-in)` +
      (p.sse ? `; Server-Sent Events: ${p.sse} (native protocol)` : '') +
      (p.httpApi ? `; Pusher HTTP API: ${p.httpApi}` : '')
    );
  }

  /** The RouterModule path of the module holding the auth controller (undefined without one). */
  private modulePath(): string | undefined {
    for (const m of this.modules.values()) {
      if (!m.controllers.has(BroadcastingAuthController)) continue;
      const path: unknown =
        Reflect.getMetadata(MODULE_PATH + this.modules.applicationId, m.metatype) ??
        Reflect.getMetadata(MODULE_PATH, m.metatype);
      return typeof path === 'string' ? path : undefined;
    }
    return undefined;
  }

  /** A POST route of the auth controller as Nest's router builds it (prefix, its exclusions, version-neutral). */
  private routePath(modulePath: string | undefined, methodPath: string): string {
    const prefix = this.config.getGlobalPrefix();
    const [path] = new RoutePathFactory(this.config).create(
      {
        modulePath,
        ctrlPath: AUTH_ROUTES.controller,
        methodPath,
        globalPrefix: prefix && !prefix.startsWith('/') ? `/${prefix}` : prefix, // as NestApplication passes it
        controllerVersion: VERSION_NEUTRAL,
        versioningOptions: this.config.getVersioning(),
      },
      RequestMethod.POST,
    );
    return path;
  }
}
