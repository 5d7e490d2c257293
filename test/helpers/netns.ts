// The namespace topology lives in bench/lib/netns.ts: the capture benchmark rows use it too.
export * from '../../bench/lib/netns.js';
