import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of the host, served at /metrics. Labels never carry a PAN or a TID. */
export interface HostMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'kind' | 'rc'>;
  readonly latency: Histogram<'kind'>;
  readonly connections: Gauge;
  readonly framesRejected: Counter<'reason'>;
  /** one answered request: its count and latency (label children cached, this runs per frame) */
  answered(kind: string, rc: string, seconds: number): void;
}

export function createHostMetrics(): HostMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'posgate_' });
  const requests = new Counter({ name: 'posgate_iso_requests_total', help: 'ISO 8583 requests answered, by message kind and response code', labelNames: ['kind', 'rc'], registers: [registry] });
  const latency = new Histogram({
    name: 'posgate_iso_request_seconds',
    help: 'time from a complete frame to its response being written',
    labelNames: ['kind'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  const counted = new Map<string, { inc(): void }>();
  const timed = new Map<string, { observe(value: number): void }>();
  return {
    registry,
    requests,
    latency,
    answered(kind, rc, seconds) {
      const key = `${kind}|${rc}`;
      let count = counted.get(key);
      if (!count) counted.set(key, (count = requests.labels(kind, rc)));
      count.inc();
      let time = timed.get(kind);
      if (!time) timed.set(kind, (time = latency.labels(kind)));
      time.observe(seconds);
    },
    connections: new Gauge({ name: 'posgate_iso_connections', help: 'open terminal connections', registers: [registry] }),
    framesRejected: new Counter({ name: 'posgate_iso_frames_rejected_total', help: 'frames that closed their connection', labelNames: ['reason'], registers: [registry] }),
  };
}
