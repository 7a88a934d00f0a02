#!/usr/bin/env node
// The operators' command-line tool. TypeScript runs through tsx, so it works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../scripts/cli.ts');
