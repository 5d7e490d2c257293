// Lives in bench/lib/cgroups.ts: the capture benchmark rows use it too.
export * from '../../bench/lib/cgroups.js';
