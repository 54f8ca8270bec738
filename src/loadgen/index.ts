/** The load generator behind `posgate bench` and the host benchmark. */
export { LoadError, runLoad, type LoadOptions, type LoadProgress, type LoadReport } from './load-generator.js';
export { spawnHost, type SpawnedHost } from './spawn-host.js';
export { startReflector } from './reflector.js';
export { runLoadMeasuringHost, storeCommitted, type HostCpu, type MachineCpu, type MeasuredLoadReport } from './host-cpu.js';
