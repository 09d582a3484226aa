import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { BroadcastHealthIndicator } from 'nestjs-broadcasting';

/** `GET /health` (@nestjs/terminus): 200 while this node accepts WebSocket clients, 503 when not. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly broadcast: BroadcastHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.broadcast.isHealthy('broadcast')]);
  }
}
