import { createReadStream, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Controller, Get, Header, Inject, NotFoundException, Param, StreamableFile } from '@nestjs/common';
import { BROADCAST_OPTIONS, type BroadcastOptions } from 'nestjs-broadcasting';

const require = createRequire(import.meta.url);

/** The repository root: the first folder above this file with a package.json (works from sample/ and dist/sample/). */
function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
const JS = 'text/javascript; charset=utf-8';
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  // 'self' covers ws:/wss: to this host in CSP 3; the explicit form helps older browsers.
  "connect-src 'self' ws: wss:",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The demo page at `/`: Laravel Echo + pusher-js for the chat, the typed native client for the rest.
 * Everything is served from this app (no CDN): the page, the two vendor bundles from node_modules
 * and the built client (`dist/lib/client`, or `SAMPLE_CLIENT_DIR`). Only the files named here
 * are served, so no path can reach anything else.
 */
@Controller()
export class DemoController {
  private readonly publicDir = join(ROOT, 'sample/demo/public');
  private readonly clientDir = process.env.SAMPLE_CLIENT_DIR ?? join(ROOT, 'dist/lib/client');
  private readonly vendor: Record<string, string> = {
    'echo.iife.js': require.resolve('laravel-echo/iife'),
    'pusher.min.js': require.resolve('pusher-js/dist/web/pusher.min.js'),
  };
  private readonly assets: Record<string, string> = { 'demo.js': JS, 'demo.css': 'text/css; charset=utf-8' };

  constructor(@Inject(BROADCAST_OPTIONS) private readonly options: BroadcastOptions) {}

  @Get()
  @Header('Content-Security-Policy', CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  page(): StreamableFile {
    return file(join(this.publicDir, 'index.html'), 'text/html; charset=utf-8');
  }

  /** What the page needs to connect: the app key (public, as in any Pusher/Echo front end) and the native path. */
  @Get('demo/config')
  @Header('Cache-Control', 'no-cache')
  config() {
    return { key: this.options.key, path: this.options.path };
  }

  @Get('assets/:file')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  asset(@Param('file') name: string): StreamableFile {
    const type = Object.hasOwn(this.assets, name) ? this.assets[name] : undefined;
    if (!type) throw new NotFoundException();
    return file(join(this.publicDir, name), type);
  }

  @Get('vendor/:file')
  @Header('X-Content-Type-Options', 'nosniff')
  vendorFile(@Param('file') name: string): StreamableFile {
    const path = Object.hasOwn(this.vendor, name) ? this.vendor[name] : undefined;
    if (!path) throw new NotFoundException();
    return file(path, JS);
  }

  /** The client's ES modules (`index.js` imports its siblings), as `npm run build` emits them. */
  @Get('client/:file')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  clientFile(@Param('file') name: string): StreamableFile {
    if (!/^[a-z-]+\.js(\.map)?$/.test(name)) throw new NotFoundException();
    const path = join(this.clientDir, name);
    if (!existsSync(path)) {
      throw new NotFoundException(`${name} is not built: run "npm run build" (or set SAMPLE_CLIENT_DIR)`);
    }
    return file(path, name.endsWith('.map') ? 'application/json' : JS);
  }
}

function file(path: string, type: string): StreamableFile {
  let length: number;
  try {
    length = statSync(path).size;
  } catch {
    throw new NotFoundException();
  }
  return new StreamableFile(createReadStream(path), { type, length });
}
