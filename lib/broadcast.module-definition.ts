import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { BroadcastModuleOptions } from './config/options.interface.js';

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: BROADCAST_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<BroadcastModuleOptions>({ moduleName: 'Broadcast' })
  .setClassMethodName('forRoot')
  // useClass / useExisting call create(): BroadcastOptionsFactory (Nest's default name, kept).
  .setFactoryMethodName('create')
  .setExtras(
    {
      isGlobal: false,
      /**
       * forRootAsync only: whether this app serves WebSocket connections (default true). forRootAsync
       * cannot read the driver before the factory runs, so an app whose driver serves nothing
       * (`pusher`, `memory`, `log`, `null`) says `false`, and needs no setupBroadcasting(app).
       * forRoot reads the driver and ignores this.
       */
      serveConnections: undefined as boolean | undefined,
    },
    (definition, extras) => ({ ...definition, global: extras.isGlobal }),
  )
  .build();
