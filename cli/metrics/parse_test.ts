import assert from "node:assert/strict";
import { parsePrometheusText, PrometheusParseError, readAppState } from "./mod.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`../../tests/fixtures/metrics/${name}`, import.meta.url));

function parseError(text: string): PrometheusParseError {
  try {
    parsePrometheusText(text);
  } catch (error) {
    assert.ok(
      error instanceof PrometheusParseError,
      `expected a PrometheusParseError, got ${error}`,
    );
    return error;
  }
  assert.fail("expected the text to be rejected");
}

Deno.test("parsePrometheusText() groups HELP, TYPE and samples into families", () => {
  const parsed = parsePrometheusText(
    [
      "# HELP up Whether the target is up",
      "# TYPE up gauge",
      "up 1",
      "",
      "# a plain comment",
      "# TYPE requests_total counter",
      'requests_total{code="200"} 3',
      'requests_total{code="500"} 1',
    ].join("\n"),
  );
  assert.equal(parsed.sampleCount, 3);
  assert.deepEqual([...parsed.families.keys()], ["up", "requests_total"]);
  const up = parsed.families.get("up");
  assert.equal(up?.type, "gauge");
  assert.equal(up?.help, "Whether the target is up");
  assert.deepEqual(up?.samples, [{ name: "up", labels: {}, value: 1, line: 3 }]);
  const requests = parsed.families.get("requests_total");
  assert.equal(requests?.type, "counter");
  assert.equal(requests?.help, undefined);
  assert.deepEqual(requests?.samples.map((s) => [s.labels["code"], s.value, s.line]), [
    ["200", 3, 7],
    ["500", 1, 8],
  ]);
});

Deno.test('parsePrometheusText() resolves label value escapes \\\\, \\" and \\n', () => {
  const parsed = parsePrometheusText(
    String.raw`m{a="back\\slash",b="say \"hi\"",c="two\nlines",d="",e="é {} ,="} 1`,
  );
  assert.deepEqual(parsed.families.get("m")?.samples[0]?.labels, {
    a: "back\\slash",
    b: 'say "hi"',
    c: "two\nlines",
    d: "",
    e: "é {} ,=",
  });
});

Deno.test("parsePrometheusText() resolves HELP escapes", () => {
  const parsed = parsePrometheusText(String.raw`# HELP m a\\b\nc "quoted"` + "\nm 1\n");
  assert.equal(parsed.families.get("m")?.help, 'a\\b\nc "quoted"');
});

Deno.test("parsePrometheusText() reads +Inf, -Inf, NaN and timestamps", () => {
  const parsed = parsePrometheusText(
    [
      "a +Inf",
      "b -Inf 1700000000000",
      "c NaN",
      "d Inf",
      "e 1.5e3 -5",
      "f -0.25",
      "g .5",
    ].join("\n") + "\n",
  );
  const values = Object.fromEntries(
    [...parsed.families.values()].map((f) => [f.name, f.samples[0]]),
  );
  assert.equal(values["a"]?.value, Infinity);
  assert.equal(values["b"]?.value, -Infinity);
  assert.equal(values["b"]?.timestampMs, 1700000000000);
  assert.ok(Number.isNaN(values["c"]?.value));
  assert.equal(values["d"]?.value, Infinity);
  assert.equal(values["e"]?.value, 1500);
  assert.equal(values["e"]?.timestampMs, -5);
  assert.equal(values["f"]?.value, -0.25);
  assert.equal(values["g"]?.value, 0.5);
  assert.equal("timestampMs" in (values["a"] ?? {}), false);
});

Deno.test("parsePrometheusText() tolerates blanks, tabs, CRLF, trailing commas and an empty text", () => {
  const parsed = parsePrometheusText(
    '\r\n  \t\r\n  m { a = "1" , b="2", }\t 7 \r\n# TYPE\r\n#\r\n',
  );
  assert.deepEqual(parsed.families.get("m")?.samples[0], {
    name: "m",
    labels: { a: "1", b: "2" },
    value: 7,
    line: 3,
  });
  assert.equal(parsePrometheusText("").sampleCount, 0);
  assert.equal(parsePrometheusText("\n\n# only comments\n").families.size, 0);
});

Deno.test("parsePrometheusText() puts _bucket, _sum and _count under their histogram", () => {
  const parsed = parsePrometheusText(
    [
      "# TYPE lat histogram",
      'lat_bucket{le="0.1"} 1',
      'lat_bucket{le="+Inf"} 2',
      "lat_sum 0.3",
      "lat_count 2",
      "# TYPE q summary",
      'q{quantile="0.5"} 1',
      "q_sum 4",
      "q_count 2",
    ].join("\n"),
  );
  assert.deepEqual([...parsed.families.keys()], ["lat", "q"]);
  assert.deepEqual(parsed.families.get("lat")?.samples.map((s) => s.name), [
    "lat_bucket",
    "lat_bucket",
    "lat_sum",
    "lat_count",
  ]);
  assert.equal(parsed.families.get("q")?.samples.length, 3);
});

Deno.test("parsePrometheusText() names the line of each error", () => {
  const cases: Array<[string, number, RegExp]> = [
    ['ok 1\nm{a="x\\t"} 1', 2, /invalid escape "\\t" in label "a" of "m"/],
    ["ok 1\n\nm 1 2 3", 3, /unexpected text after the timestamp/],
    ["m abc", 1, /invalid value "abc" for "m"/],
    ["m", 1, /missing value for "m"/],
    ['m{a="1"', 1, /expected "," or "}"|unterminated|unclosed/],
    ['m{a="1} 1', 1, /unterminated value of label "a"/],
    ['m{a="1",a="2"} 1', 1, /label "a" repeated/],
    ["m 1\nm 2", 2, /duplicate series "m"/],
    ['m{1a="x"} 1', 1, /invalid label name/],
    ["9m 1", 1, /expected a metric name/],
    ["m 1 1.5", 1, /invalid timestamp "1.5"/],
    ["# TYPE m bogus", 1, /unknown metric type "bogus"/],
    ["# TYPE m gauge\n# TYPE m counter", 2, /second TYPE line for "m" \(first on line 1\)/],
    ["# HELP m a\n# HELP m b", 2, /second HELP line/],
    ["m 1\n# TYPE m gauge", 2, /TYPE line for "m" after its samples/],
    ["# TYPE h histogram\nh_bucket 1", 2, /histogram bucket "h_bucket" without "le"/],
    ['# TYPE h histogram\nh_bucket{le="x"} 1', 2, /invalid "le" value "x"/],
    ["m -NaN", 1, /invalid value "-NaN"/],
    ["# HELP m bad \\t escape", 1, /invalid escape "\\t" in HELP/],
  ];
  for (const [text, line, message] of cases) {
    const error = parseError(text);
    assert.equal(error.line, line, `line of ${JSON.stringify(text)}: ${error.message}`);
    assert.match(error.message, message);
    assert.match(error.message, new RegExp(`^Cannot parse metrics: line ${line}: `));
    assert.equal(error.code, "METRICS_INVALID");
  }
});

Deno.test("parsePrometheusText() reads the app's real prom-client output", () => {
  const parsed = parsePrometheusText(fixture("app_canary_t30.txt"));
  assert.deepEqual([...parsed.families.keys()], [
    "http_requests_total",
    "http_request_duration_seconds",
    "app_uptime_seconds",
    "app_mode",
    "chaos_active",
  ]);
  const duration = parsed.families.get("http_request_duration_seconds");
  assert.equal(duration?.type, "histogram");
  // 5 label sets x (18 buckets + sum + count)
  assert.equal(duration?.samples.length, 5 * 20);
  assert.equal(parsed.families.get("http_requests_total")?.samples.length, 6);
  assert.equal(parsed.sampleCount, 6 + 100 + 3);
  assert.deepEqual(readAppState(parsed), { mode: "canary", chaos: "error", uptime_seconds: 72.5 });
});

Deno.test("readAppState() gives null for missing or unknown gauge values", () => {
  assert.deepEqual(readAppState(parsePrometheusText("")), {
    mode: null,
    chaos: null,
    uptime_seconds: null,
  });
  assert.deepEqual(
    readAppState(parsePrometheusText("app_mode 7\nchaos_active 1\napp_uptime_seconds NaN\n")),
    { mode: null, chaos: "slow", uptime_seconds: null },
  );
  assert.deepEqual(readAppState(parsePrometheusText("app_mode 0\nchaos_active 0\n")), {
    mode: "stable",
    chaos: "none",
    uptime_seconds: null,
  });
});
