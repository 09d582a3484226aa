import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { BroadcastModuleOptions } from './broadcast.options.js';

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: BROADCAST_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<BroadcastModuleOptions>({ moduleName: 'Broadcast' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
