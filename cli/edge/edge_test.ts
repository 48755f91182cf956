import assert from "node:assert/strict";
import { computeWindow, scrapeFromText } from "../metrics/mod.ts";
import { planStack } from "../plan/mod.ts";
import { loadManifest } from "../manifest/mod.ts";
import {
  decodeEdgeSample,
  EDGE_CLASSES,
  edgeSampleFromText,
  edgeSocketPath,
  encodeEdgeSample,
  ensureEdgeAdminDir,
  MAX_SOCKET_PATH_BYTES,
  readEdgeSample,
} from "./mod.ts";

/** Edge text as nginx's admin socket serves it (see templates/nginx.conf.tmpl). */
function edgeText(counts: Partial<Record<string, number | string>>, instance = "a1b2"): string {
  const lines = [
    "# HELP swiftdeploy_edge_requests_total Application requests answered to clients by nginx, by status class.",
    "# TYPE swiftdeploy_edge_requests_total counter",
    ...EDGE_CLASSES.map((c) => `swiftdeploy_edge_requests_total{class="${c}"} ${counts[c] ?? 0}`),
    "# TYPE swiftdeploy_edge_instance_info gauge",
    `swiftdeploy_edge_instance_info{instance="${instance}"} 1`,
    "# TYPE swiftdeploy_edge_start_time_seconds gauge",
    "swiftdeploy_edge_start_time_seconds 1796062460.052",
  ];
  return lines.join("\n") + "\n";
}

Deno.test("edgeSampleFromText() sums every class into requests and takes 5xx as errors", () => {
  const s = edgeSampleFromText(edgeText({ "2xx": 70, "4xx": 3, "5xx": 25, other: 2 }), 1234);
  assert.deepEqual(s, { atMs: 1234, instance: "a1b2", requests: 100, errors: 25 });
});

Deno.test("edgeSampleFromText() passes NaN and negative counts on for the window to judge", () => {
  assert.ok(Number.isNaN(edgeSampleFromText(edgeText({ "5xx": "NaN" }), 1).errors));
  assert.equal(edgeSampleFromText(edgeText({ "2xx": -4 }), 1).requests, -4);
});

Deno.test("edgeSampleFromText() throws METRICS_INVALID when the counters cannot be trusted", () => {
  const good = edgeText({ "2xx": 1 });
  const broken: [string, RegExp][] = [
    ["", /swiftdeploy_edge_requests_total" is missing/],
    [good.replace(/^swiftdeploy_edge_requests_total\{class="5xx"\}.*\n/m, ""), /no "5xx" count/],
    [good.replace('class="other"', 'class="6xx"'), /unknown class "6xx"/],
    [good.replace("requests_total counter", "requests_total gauge"), /is a gauge/],
    [good.replace(/^swiftdeploy_edge_instance_info.*\n/m, ""), /exactly one non-empty instance/],
    [good.replace('instance="a1b2"', 'instance=""'), /exactly one non-empty instance/],
    [
      good.replace(
        /^(swiftdeploy_edge_instance_info.*\n)/m,
        '$1swiftdeploy_edge_instance_info{instance="other"} 1\n',
      ),
      /exactly one non-empty instance/,
    ],
    ["swiftdeploy_edge_requests_total{class=2xx} 1\n", /Cannot parse metrics: line 1/],
  ];
  for (const [text, message] of broken) {
    assert.throws(
      () => edgeSampleFromText(text, 1),
      (e: Error & { code?: string }) => e.code === "METRICS_INVALID" && message.test(e.message),
      text,
    );
  }
});

Deno.test("encodeEdgeSample() and decodeEdgeSample() round-trip; damaged or foreign text is undefined", () => {
  const s = { atMs: 5, instance: "x", requests: 10, errors: 2 };
  assert.deepEqual(decodeEdgeSample(encodeEdgeSample(s)!), s);
  assert.equal(encodeEdgeSample({ ...s, errors: NaN }), undefined);
  for (
    const text of ["", "{", "[]", '{"format":"swiftdeploy-scrape/2"}', JSON.stringify({ ...s })]
  ) {
    assert.equal(decodeEdgeSample(text), undefined, text);
  }
  const foreign = JSON.stringify({ format: "swiftdeploy-edge/1", ...s, requests: "10" });
  assert.equal(decodeEdgeSample(foreign), undefined);
});

/** App scrape text where every request the app served was a 200 (the app never saw the 504s). */
function appText(ok: number, uptime: number): string {
  return [
    "# TYPE http_requests_total counter",
    `http_requests_total{method="GET",path="/",status_code="200"} ${ok}`,
    "# TYPE http_request_duration_seconds histogram",
    `http_request_duration_seconds_bucket{method="GET",path="/",le="0.5"} 0`,
    `http_request_duration_seconds_bucket{method="GET",path="/",le="10"} ${ok}`,
    `http_request_duration_seconds_bucket{method="GET",path="/",le="+Inf"} ${ok}`,
    `http_request_duration_seconds_sum{method="GET",path="/"} ${ok * 5}`,
    `http_request_duration_seconds_count{method="GET",path="/"} ${ok}`,
    "# TYPE app_uptime_seconds gauge",
    `app_uptime_seconds ${uptime}`,
    "# TYPE app_instance_info gauge",
    'app_instance_info{instance="app-1"} 1',
    "",
  ].join("\n");
}

Deno.test("computeWindow() with edge readings counts nginx's own 504s the app answered as 200 (issue 11 case 2)", () => {
  // proxy_timeout 2 s, slow chaos 5 s: the app finished 25 requests with 200,
  // clients got 25 x 504 from nginx.
  const older = scrapeFromText(appText(0, 10), 0);
  const newer = scrapeFromText(appText(25, 40), 30_000);
  const appOnly = computeWindow(older, newer);
  assert.equal(appOnly.error_rate_percent, 0, "the app alone sees no error");
  const edge = [
    edgeSampleFromText(edgeText({}), 0),
    edgeSampleFromText(edgeText({ "5xx": 25 }), 30_000),
  ];
  const f = computeWindow(older, newer, { edge });
  assert.equal(f.requests_source, "edge");
  assert.equal(f.request_count, 25);
  assert.equal(f.error_count, 25);
  assert.equal(f.error_rate_percent, 100);
  // A restarted nginx (new instance) counts from zero, not as a decrease.
  const restarted = [
    edgeSampleFromText(edgeText({ "2xx": 500 }, "first"), 0),
    edgeSampleFromText(edgeText({ "2xx": 5, "5xx": 20 }, "second"), 30_000),
  ];
  const r = computeWindow(older, newer, { edge: restarted });
  assert.equal(r.request_count, 25);
  assert.equal(r.error_count, 20);
});

// readEdgeSample() keeps one HTTP client per socket for the process: a resource by design.
const keepsClient = { sanitizeResources: false };

Deno.test(
  "readEdgeSample() keeps answering over 100 reads in one process",
  keepsClient,
  async () => {
    // With a new Deno.HttpClient per read, the 27th read of nginx's socket never got an answer.
    const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_edge_" });
    const path = `${dir}/edge.sock`;
    let served = 0;
    const server = Deno.serve(
      { transport: "unix", path, onListen() {} },
      () => new Response(edgeText({ "2xx": ++served })),
    );
    try {
      for (let i = 1; i <= 100; i++) {
        assert.equal((await readEdgeSample(path, { timeoutMs: 1000 })).requests, i);
      }
    } finally {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "readEdgeSample() reads the counters over a unix socket and fails typed when it cannot",
  keepsClient,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_edge_" });
    const path = `${dir}/edge.sock`;
    const server = Deno.serve(
      { transport: "unix", path, onListen() {} },
      (req) =>
        new URL(req.url).pathname === "/edge-metrics"
          ? new Response(edgeText({ "2xx": 9, "5xx": 1 }))
          : new Response("no", { status: 404 }),
    );
    try {
      const s = await readEdgeSample(path, { now: () => 42 });
      assert.deepEqual(s, { atMs: 42, instance: "a1b2", requests: 10, errors: 1 });
    } finally {
      await server.shutdown();
    }
    const missing = readEdgeSample(`${dir}/none.sock`, { timeoutMs: 500 });
    await assert.rejects(
      missing,
      (e: Error & { code?: string }) => e.code === "METRICS_UNREACHABLE",
    );
    const long = `/tmp/${"x".repeat(MAX_SOCKET_PATH_BYTES)}/edge.sock`;
    await assert.rejects(readEdgeSample(long), /longer than the 107 bytes/);
    await Deno.remove(dir, { recursive: true });
  },
);

Deno.test("ensureEdgeAdminDir() makes the plan's admin folder 0700 and nginx's, whatever the umask", async () => {
  const isRoot = Deno.uid() === 0;
  const dir = await Deno.makeTempDir({ prefix: "swiftdeploy_edge_admin_" });
  const { manifest } = await loadManifest(new URL("../../manifest.yaml", import.meta.url).pathname);
  const plan = planStack(manifest, { manifestDir: dir, installDir: dir });
  const old = Deno.umask(0o077);
  try {
    if (!isRoot) {
      // Without root the folder cannot be given to uid 10002: a typed error, not a half-made folder.
      await assert.rejects(ensureEdgeAdminDir(plan), /uid 10002/);
      return;
    }
    const made = await ensureEdgeAdminDir(plan);
    assert.equal(made, `${dir}/.swiftdeploy/nginx-admin`);
    assert.equal(edgeSocketPath(`${dir}/.swiftdeploy`), `${made}/edge.sock`);
    const st = await Deno.stat(made);
    assert.equal(st.mode! & 0o777, 0o700);
    assert.equal(st.uid, 10002);
    assert.equal(st.gid, 10002);
    assert.equal((await Deno.stat(`${dir}/.swiftdeploy`)).mode! & 0o777, 0o700, "parents too");
  } finally {
    Deno.umask(old);
    await Deno.remove(dir, { recursive: true });
  }
});
