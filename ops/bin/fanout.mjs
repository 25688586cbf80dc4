#!/usr/bin/env node
// The `fanout` command: registers tsx (the project is TypeScript run as is), then runs ops/main.ts.
import { register } from 'tsx/esm/api';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../main.ts');
