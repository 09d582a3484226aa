import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // SWC instead of Vite's own TypeScript transform, which emits no decorator metadata: Nest's DI
  // needs it. unplugin-swc takes experimentalDecorators and emitDecoratorMetadata from tsconfig.json.
  plugins: [swc.vite()],
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.e2e-spec.ts'],
  },
});
