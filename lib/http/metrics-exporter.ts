import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { BroadcastOptions, MetricsRegistry } from '../config/options.interface.js';
import { BROADCAST_OPTIONS } from '../constants.js';
import { BroadcastHub } from '../core/broadcast-hub.js';
import { BroadcastMetrics } from '../metrics/broadcast-metrics.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Points the metrics at this node's hub and, when `metrics.path` is set, serves them there on the
 * app's HTTP server, ahead of its router (like the Pusher HTTP API): scrapers use one absolute path
 * whatever the app's global prefix, and the app's guards and interceptors do not apply.
 */
@Injectable()
export class MetricsExporter implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('BroadcastMetrics');

  constructor(
    @Inject(BROADCAST_OPTIONS) private readonly options: BroadcastOptions,
    private readonly metrics: BroadcastMetrics,
    private readonly hub: BroadcastHub,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    this.metrics.observe(this.hub);
  }

  onApplicationBootstrap(): void {
    const { path } = this.options.metrics;
    const registry = this.metrics.registry;
    if (path === false || registry === undefined) return;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (typeof server?.on !== 'function') return; // no HTTP server (a testing module, a microservice)
    const appListeners = server.listeners('request') as Listener[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      if ((q === -1 ? url : url.slice(0, q)) === path) {
        this.serve(registry, req, res);
        return;
      }
      for (const l of appListeners) l.call(server, req, res);
    });
    this.logger.log(`Prometheus metrics at ${path}`);
  }

  private serve(registry: MetricsRegistry, req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 });
      res.end();
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        this.logger.error(`collecting metrics failed: ${(err as Error)?.message ?? String(err)}`);
        res.writeHead(500, { 'content-length': 0 });
        res.end();
      },
    );
  }
}
