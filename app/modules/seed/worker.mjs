// Worker-thread entry for the seed generator. Plain JavaScript so that Node can start it from any
// host (tsx, vitest, node): it registers the TypeScript loader, then loads the real worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.server.ts');
