#!/usr/bin/env node
// The `fanout` command (the package's bin). In a clone it runs the sources, ops/main.ts, through tsx (a
// devDependency). The package ships neither: installed, it runs dist/cli/fanout.js, the command bundled by
// `npm run build` (run by `npm pack`), which imports only the package's dependencies and peer dependencies.
import { existsSync } from 'node:fs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const sources = new URL('../main.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import('../../dist/cli/fanout.js');
}
