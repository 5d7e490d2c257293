import { FileConfigStore } from './dist/src/controlplane/store/file.js';
const s = new FileConfigStore({ dir: '/tmp/fz-store', pollMs: 0, log: (m) => console.log('LOG', m.slice(0, 200)) });
try { await s.start(); console.log('started'); } catch (e) { console.log('start threw:', e.message); }
process.exit(0);
