#!/usr/bin/env node
// The package `bin` entry: registers tsx's ESM loader, then runs the TypeScript CLI.
import { register } from 'tsx/esm/api';

register();
await import('./tallyfy-serverless.ts');
