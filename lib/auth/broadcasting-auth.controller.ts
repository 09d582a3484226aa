import { Body, Controller, HttpCode, Post, Req, Res, UseGuards, VERSION_NEUTRAL } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { BroadcastMetrics } from '../metrics/broadcast-metrics.js';
import { BroadcastAuthGuard } from './broadcast-auth.guard.js';
import { ChannelAuthService } from './channel-auth.service.js';

/** The controller's routes: `POST /broadcasting/auth` and `POST /broadcasting/user-auth`. */
export const AUTH_ROUTES = { controller: 'broadcasting', channel: 'auth', user: 'user-auth' } as const;

/**
 * `POST /broadcasting/auth` (Laravel Echo's default), under the app's global prefix if it has one,
 * version-neutral. Answers with the exact JSON pusher-js expects: it writes the response itself,
 * so response-wrapping interceptors do not change it.
 */
@Controller({ path: AUTH_ROUTES.controller, version: VERSION_NEUTRAL })
@UseGuards(BroadcastAuthGuard)
export class BroadcastingAuthController {
  constructor(
    private readonly auth: ChannelAuthService,
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: BroadcastMetrics,
  ) {}

  @Post(AUTH_ROUTES.channel)
  @HttpCode(200)
  async authorize(@Req() req: unknown, @Res() res: unknown, @Body() body: unknown): Promise<void> {
    const { status, body: answer } = await this.auth.authorizeChannel(req, body);
    if (status === 401 || status === 403) this.metrics.authFailure('channel_auth');
    this.adapterHost.httpAdapter.reply(res, answer, status);
  }

  /** `POST /broadcasting/user-auth`: user sign-in for `{"type":"signin"}` and `pusher:signin`. */
  @Post(AUTH_ROUTES.user)
  @HttpCode(200)
  async authenticateUser(@Req() req: unknown, @Res() res: unknown, @Body() body: unknown): Promise<void> {
    const { status, body: answer } = await this.auth.authenticateUser(req, body);
    if (status === 401 || status === 403) this.metrics.authFailure('user_auth');
    this.adapterHost.httpAdapter.reply(res, answer, status);
  }
}
