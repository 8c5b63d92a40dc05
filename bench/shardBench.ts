// Scale-out with sharding: N Backup objects in a real kube-apiserver, served by
// one unsharded bridge and by 3 shards (--shard i --total-shards 3), each a real CLI process run
// alone, one after the other, with the definitions of bench/peerProcess.ts (sync = spawn → every
// object's series served; RSS after sync; scrape p50). Ratios against the unsharded process of
// the same run matter more than absolutes on a shared machine.
//
//   node --expose-gc bench/shardBench.ts [objects=100000]
//
// Same as `BENCH_SHARD_OBJECTS=N node --expose-gc bench/scaleBench.ts`.
process.env.BENCH_SHARD_OBJECTS = process.argv[2] ?? '100000';
delete process.env.BENCH_KSM_OBJECTS;
delete process.env.BENCH_MILLION_OBJECTS;
const { benchScale } = await import('./scaleBench.ts');
await benchScale();
