/** A synthetic 1,000-series scrape in prom-client's layout, for benchmarks. */

const BUCKETS = [
  "0.0005",
  "0.001",
  "0.0025",
  "0.005",
  "0.0075",
  "0.01",
  "0.015",
  "0.02",
  "0.025",
  "0.05",
  "0.1",
  "0.25",
  "0.5",
  "1",
  "2.5",
  "5",
  "10",
  "+Inf",
];

/**
 * 45 (method, path) histograms x 20 lines + 97 request counters + 3 gauges
 * = 1,000 series, in prom-client's layout. `scale` grows every counter.
 */
export function generateScrapeText(scale: number): string {
  const lines: string[] = [];
  lines.push(
    "# HELP http_requests_total Total number of HTTP requests",
    "# TYPE http_requests_total counter",
  );
  const methods = ["GET", "POST", "PUT"];
  const statuses = ["200", "201", "404", "500", "503"];
  let counters = 0;
  outer: for (let p = 0; p < 15; p++) {
    for (const m of methods) {
      for (const s of statuses) {
        if (counters === 97) break outer;
        const path = p === 0 ? "/healthz" : `/api/v1/resource_${p}`;
        lines.push(
          `http_requests_total{method="${m}",path="${path}",status_code="${s}"} ${
            (counters + 1) * scale
          }`,
        );
        counters++;
      }
    }
  }
  lines.push(
    "",
    "# HELP http_request_duration_seconds Latency",
    "# TYPE http_request_duration_seconds histogram",
  );
  for (let p = 0; p < 15; p++) {
    for (const m of methods) {
      const path = p === 0 ? "/healthz" : `/api/v1/resource_${p}`;
      const labels = `method="${m}",path="${path}"`;
      let cumulative = 0;
      for (let i = 0; i < BUCKETS.length; i++) {
        cumulative += (i % 4) * scale;
        lines.push(
          `http_request_duration_seconds_bucket{le="${BUCKETS[i]}",${labels}} ${cumulative}`,
        );
      }
      lines.push(`http_request_duration_seconds_sum{${labels}} ${cumulative * 0.013}`);
      lines.push(`http_request_duration_seconds_count{${labels}} ${cumulative}`);
    }
  }
  lines.push("", "# TYPE app_uptime_seconds gauge", `app_uptime_seconds ${100 * scale}`);
  lines.push(
    "# TYPE app_mode gauge",
    "app_mode 1",
    "# TYPE chaos_active gauge",
    "chaos_active 0",
    "",
  );
  return lines.join("\n");
}
