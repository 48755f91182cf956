/**
 * A self-contained SVG chart of the status checks: error rate (%) in the
 * upper panel, P99 latency (ms) in the lower one, on one time axis. Spans
 * with chaos injected are shaded; deploys, promotions and blocked attempts
 * are marked. Deterministic (fixed ids, coordinates with one decimal),
 * valid XML, no scripts, no external references.
 *
 * Rollouts (issue 13) add one line per variant to each panel: the canary's
 * and stable's error rate (upper) and P99 (lower) as each `rollout_analysis`
 * event recorded them, one point per analysis at the end of its window.
 * These, not the status checks (which see both variants mixed through
 * nginx) and not request rates (which only follow the weight), are the
 * figures the Rego analysis compared when it continued, held or rolled back,
 * so the chart shows why: the canary's line apart from stable's. A P99
 * beyond the highest bucket is drawn at that bound (a lower bound, said in
 * its tooltip). The lines break between rollouts; rollout starts, ends and
 * rollbacks are marked. A history without rollout events draws exactly the
 * chart it drew before.
 */

import type { HistoryEvent } from "../history/mod.ts";
import { formatTime, num, obj, str } from "./_model.ts";

const W = 880;
const H = 560;
const LEFT = 78;
const RIGHT = 24;
const PLOT_W = W - LEFT - RIGHT;
const PANELS = [
  { top: 78, height: 180 },
  { top: 300, height: 180 },
] as const;
const COLORS = {
  error: "#c62828",
  p99: "#1565c0",
  chaos: "#ffcc80",
  grid: "#e0e0e0",
  axis: "#616161",
  text: "#212121",
  marker: "#6a1b9a",
  blocked: "#b71c1c",
  canary: "#ef6c00",
  stable: "#2e7d32",
};
/** Markers this close outside the checks' time range (as a share of it) widen the axis to show them. */
const MARKER_REACH = 0.25;
/** Above this many points per series, dots are drawn only where a line cannot be. */
const MAX_DOTS = 80;

export const NO_DATA = "No data: no status checks recorded yet";

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

type Attrs = Record<string, string | number>;

/** One element on one line; attribute values and text are escaped here. */
function el(name: string, attrs: Attrs, text?: string, indent = 4): string {
  const a = Object.entries(attrs).map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`).join("");
  const pad = " ".repeat(indent);
  return text === undefined
    ? `${pad}<${name}${a}/>`
    : `${pad}<${name}${a}>${escapeXml(text)}</${name}>`;
}

/** An element holding a `<title>` tooltip. */
function withTitle(name: string, attrs: Attrs, title: string): string {
  return el(name, attrs).replace(/\/>$/, `><title>${escapeXml(title)}</title></${name}>`);
}

const f = (v: number) => v.toFixed(1);

interface Span {
  from: number;
  to: number;
  label: string;
}

interface Marker {
  t: number;
  label: string;
  blocked: boolean;
}

/** Up to this many status checks the chart draws every one. */
export const MAX_RAW_POINTS = 1000;
/**
 * Beyond `MAX_RAW_POINTS` the time axis is cut into this many slices and
 * each series shows its lowest and highest value per slice (min/max
 * decimation, so a spike is never averaged away): at most 2 × SLICES points
 * per series, whatever the history's length.
 */
export const SLICES = 400;

/** One value of a series; `v: null` breaks the line (a check without that figure). */
interface SeriesPoint {
  t: number;
  v: number | null;
}

interface Agg {
  minT: number;
  minV: number;
  maxT: number;
  maxV: number;
}

interface Slice {
  error?: Agg;
  p99?: Agg;
  errorGap: boolean;
  p99Gap: boolean;
}

/** What the chart draws, gathered by `chartBuilder`. */
export interface ChartData {
  /** Status checks seen. */
  count: number;
  /** Earliest and latest status check (ms since the epoch). */
  first: number;
  last: number;
  /** Each series in time order. */
  error: SeriesPoint[];
  p99: SeriesPoint[];
  /** Set when down-sampled: the most points a series can have. */
  sampled?: number;
  /** Closed chaos spans, and the one still open at the end. */
  spans: Span[];
  open?: { from: number; label: string };
  markers: Marker[];
  /**
   * Per-variant figures of the rollout analyses (one point per
   * `rollout_analysis`, a null point between two rollouts); absent when the
   * history has none.
   */
  variants?: VariantSeries;
}

/** The rollout analyses' figures per variant, in time order. */
export interface VariantSeries {
  /** Analyses seen. */
  count: number;
  first: number;
  last: number;
  canary: { error: VariantPoint[]; p99: VariantPoint[] };
  stable: { error: VariantPoint[]; p99: VariantPoint[] };
}

/** A point of a variant line; `above` when the P99 lay beyond the highest bucket (`v` is that bound). */
interface VariantPoint extends SeriesPoint {
  above?: boolean;
}

function aggregate(a: Agg | undefined, t: number, v: number): Agg {
  if (!a) return { minT: t, minV: v, maxT: t, maxV: v };
  if (v < a.minV) {
    a.minV = v;
    a.minT = t;
  }
  if (v > a.maxV) {
    a.maxV = v;
    a.maxT = t;
  }
  return a;
}

function mergeAgg(a: Agg | undefined, b: Agg | undefined): Agg | undefined {
  if (!a || !b) return a ?? b;
  return {
    minT: a.minV <= b.minV ? a.minT : b.minT,
    minV: Math.min(a.minV, b.minV),
    maxT: a.maxV >= b.maxV ? a.maxT : b.maxT,
    maxV: Math.max(a.maxV, b.maxV),
  };
}

function sliceSeries(
  slices: readonly (Slice | undefined)[],
  key: "error" | "p99",
  origin: number,
  width: number,
): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  slices.forEach((slice, i) => {
    if (!slice) return;
    const a = slice[key];
    if (a) {
      const lo = { t: a.minT, v: a.minV };
      const hi = { t: a.maxT, v: a.maxV };
      if (lo.t === hi.t && lo.v === hi.v) out.push(lo);
      else out.push(...(lo.t <= hi.t ? [lo, hi] : [hi, lo]));
    } else if (key === "error" ? slice.errorGap : slice.p99Gap) {
      out.push({ t: origin + (i + 0.5) * width, v: null });
    }
  });
  return out;
}

/**
 * Gathers what the chart needs one event at a time, in history order, in
 * bounded memory: up to `MAX_RAW_POINTS` status checks are kept as they
 * are; past that they go into `SLICES` time slices of equal width, the
 * width doubling (neighbours merged) whenever a check falls past the last
 * slice. Chaos spans and markers are kept (one per deploy, promotion,
 * teardown, blocked attempt or chaos change).
 */
export function chartBuilder(): { add(e: HistoryEvent): void; data(): ChartData } {
  let raw: { t: number; error: number | null; p99: number | null }[] | null = [];
  let slices: (Slice | undefined)[] = [];
  let origin = 0;
  let width = 1;
  let count = 0;
  let first = Infinity;
  let last = -Infinity;
  const spans: Span[] = [];
  let open: { from: number; label: string } | undefined;
  const marks: Marker[] = [];
  const variants: VariantSeries = {
    count: 0,
    first: Infinity,
    last: -Infinity,
    canary: { error: [], p99: [] },
    stable: { error: [], p99: [] },
  };
  let lastRollout: string | undefined;

  const analysis = (t: number, d: HistoryEvent["data"]): void => {
    const id = str(d["id"]) ?? "";
    const gap = lastRollout !== undefined && lastRollout !== id;
    lastRollout = id;
    variants.count++;
    variants.first = Math.min(variants.first, t);
    variants.last = Math.max(variants.last, t);
    for (const key of ["canary", "stable"] as const) {
      const figures = obj(d[key]);
      const series = variants[key];
      if (gap) {
        series.error.push({ t, v: null });
        series.p99.push({ t, v: null });
      }
      series.error.push({ t, v: num(figures?.["error_rate_percent"]) ?? null });
      const p99 = num(figures?.["p99_latency_ms"]);
      const above = num(figures?.["p99_above_ms"]);
      series.p99.push(
        p99 === undefined && above !== undefined
          ? { t, v: above, above: true }
          : { t, v: p99 ?? null },
      );
    }
  };

  const place = (t: number, error: number | null, p99: number | null) => {
    let i = Math.max(0, Math.floor((t - origin) / width));
    while (i >= SLICES) {
      const merged: (Slice | undefined)[] = [];
      for (let j = 0; j < SLICES / 2; j++) {
        const a = slices[2 * j];
        const b = slices[2 * j + 1];
        merged.push(
          a && b
            ? {
              error: mergeAgg(a.error, b.error),
              p99: mergeAgg(a.p99, b.p99),
              errorGap: a.errorGap || b.errorGap,
              p99Gap: a.p99Gap || b.p99Gap,
            } as Slice
            : a ?? b,
        );
      }
      slices = merged;
      width *= 2;
      i = Math.max(0, Math.floor((t - origin) / width));
    }
    const slice = slices[i] ?? (slices[i] = { errorGap: false, p99Gap: false });
    if (error === null) slice.errorGap = true;
    else slice.error = aggregate(slice.error, t, error);
    if (p99 === null) slice.p99Gap = true;
    else slice.p99 = aggregate(slice.p99, t, p99);
  };

  const add = (e: HistoryEvent): void => {
    const t = Date.parse(e.ts);
    if (Number.isNaN(t)) return;
    const ends = e.event === "chaos_change" || e.event === "deploy" || e.event === "promote" ||
      e.event === "teardown";
    if (ends && open) {
      spans.push({ from: open.from, to: t, label: open.label });
      open = undefined;
    }
    const mark = (label: string, blocked = false): void => {
      marks.push({ t, label, blocked });
    };
    switch (e.event) {
      case "chaos_change": {
        const mode = str(e.data["mode"]);
        if (mode === "error" || mode === "slow") open = { from: t, label: mode };
        return;
      }
      case "deploy":
        return mark(`deploy ${str(e.data["mode"]) ?? ""}`.trim());
      case "promote":
        return mark(`→ ${str(e.data["to"]) ?? "?"}`);
      case "teardown":
        return mark("teardown");
      case "promote_blocked":
        return mark("blocked", true);
      case "deploy_blocked":
        return mark("deploy blocked", true);
      case "rollout_started":
        return mark("rollout");
      case "rollout_completed":
        return mark("rollout done");
      case "rollout_aborted":
        return mark("rolled back", true);
      case "rollout_analysis":
        return analysis(t, e.data);
      case "status_scrape":
        break;
      default:
        return;
    }
    const error = num(e.data["error_rate_percent"]) ?? null;
    const p99 = num(e.data["p99_latency_ms"]) ?? null;
    count++;
    if (t < first) first = t;
    if (t > last) last = t;
    if (raw) {
      raw.push({ t, error, p99 });
      if (raw.length <= MAX_RAW_POINTS) return;
      // Too many to draw one by one: from here on, time slices.
      origin = first;
      width = Math.max(1, Math.ceil((last - first + 1) / SLICES));
      const kept = raw;
      raw = null;
      for (const p of kept) place(p.t, p.error, p.p99);
      return;
    }
    place(t, error, p99);
  };

  const data = (): ChartData => {
    const base = {
      count,
      first,
      last,
      spans,
      markers: marks,
      ...(open ? { open } : {}),
      ...(variants.count ? { variants } : {}),
    };
    if (raw) {
      const pts = [...raw].sort((a, b) => a.t - b.t);
      return {
        ...base,
        error: pts.map((p) => ({ t: p.t, v: p.error })),
        p99: pts.map((p) => ({ t: p.t, v: p.p99 })),
      };
    }
    return {
      ...base,
      error: sliceSeries(slices, "error", origin, width),
      p99: sliceSeries(slices, "p99", origin, width),
      sampled: 2 * SLICES,
    };
  };
  return { add, data };
}

/** A round step giving about `target` intervals up to `max`. */
function niceStep(max: number, target: number): number {
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const m = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
  return m * mag;
}

function yScale(values: readonly number[]): { top: number; ticks: number[] } {
  // A loop, not Math.max(...values): a spread of many values overflows the call stack.
  let max = 0;
  for (const v of values) if (v > max) max = v;
  if (max === 0) return { top: 1, ticks: [0, 0.25, 0.5, 0.75, 1] };
  const step = niceStep(max, 4);
  const top = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; i * step <= top + step / 1e6; i++) ticks.push(Number((i * step).toPrecision(12)));
  return { top, ticks };
}

const TIME_STEPS_S = [
  1,
  2,
  5,
  10,
  15,
  30,
  60,
  120,
  300,
  600,
  900,
  1800,
  3600,
  7200,
  10800,
  21600,
  43200,
  86400,
  172800,
  604800,
];

function timeTicks(t0: number, t1: number): { ticks: number[]; label: (t: number) => string } {
  const span = (t1 - t0) / 1000;
  const stepS = TIME_STEPS_S.find((s) => span / s <= 8) ?? Math.ceil(span / 8 / 86400) * 86400;
  const step = stepS * 1000;
  const ticks: number[] = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) ticks.push(t);
  const label = (t: number) => {
    const iso = new Date(t).toISOString();
    if (span > 86400) return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
    return step < 60_000 ? iso.slice(11, 19) : iso.slice(11, 16);
  };
  return { ticks, label };
}

function tickText(v: number): string {
  return String(Number(v.toPrecision(6)));
}

function header(desc: string): string[] {
  const root = el(
    "svg",
    {
      xmlns: "http://www.w3.org/2000/svg",
      width: W,
      height: H,
      viewBox: `0 0 ${W} ${H}`,
      role: "img",
      "aria-labelledby": "chart-title chart-desc",
      "font-family": "Helvetica, Arial, sans-serif",
      "font-size": 12,
      fill: COLORS.text,
    },
    undefined,
    0,
  ).replace(/\/>$/, ">");
  return [
    root,
    el("title", { id: "chart-title" }, "Error rate and P99 latency", 2),
    el("desc", { id: "chart-desc" }, desc, 2),
    el("rect", { x: 0, y: 0, width: W, height: H, fill: "#ffffff" }, undefined, 2),
    el(
      "text",
      {
        x: W / 2,
        y: 30,
        "text-anchor": "middle",
        "font-size": 18,
        "font-weight": "bold",
      },
      "Error rate and P99 latency per status check",
      2,
    ),
  ];
}

/** The chart of `events` (see `renderChart`). Pure and deterministic. */
export function renderChartSvg(events: readonly HistoryEvent[]): string {
  const b = chartBuilder();
  for (const e of events) b.add(e);
  return renderChart(b.data());
}

/** The chart from what `chartBuilder` gathered. Pure and deterministic. */
export function renderChart(data: ChartData): string {
  const vs = data.variants;
  if (data.count === 0 && !vs) {
    return [
      ...header(NO_DATA),
      el(
        "text",
        {
          x: W / 2,
          y: H / 2,
          "text-anchor": "middle",
          "font-size": 16,
          fill: COLORS.axis,
        },
        NO_DATA,
        2,
      ),
      "</svg>",
      "",
    ].join("\n");
  }

  const first = vs ? Math.min(data.first, vs.first) : data.first;
  const last = vs ? Math.max(data.last, vs.last) : data.last;
  let t0 = first;
  let t1 = last;
  if (t1 - t0 < 60_000) {
    const mid = (t0 + t1) / 2;
    t0 = mid - 30_000;
    t1 = mid + 30_000;
  }
  const allMarks = data.markers;
  const reach = (t1 - t0) * MARKER_REACH;
  for (const m of allMarks) {
    if (m.t < t0 && m.t >= t0 - reach) t0 = m.t;
    if (m.t > t1 && m.t <= t1 + reach) t1 = m.t;
  }
  const x = (t: number) => LEFT + ((t - t0) / (t1 - t0)) * PLOT_W;
  const clampX = (t: number) => x(Math.min(t1, Math.max(t0, t)));
  const time = timeTicks(t0, t1);
  const spans = [
    ...data.spans,
    ...(data.open ? [{ ...data.open, to: Math.max(t1, data.open.from) }] : []),
  ].filter((s) => s.to >= t0 && s.from <= t1);
  const marks = allMarks.filter((m) => m.t >= t0 && m.t <= t1);

  const analyses = vs
    ? `canary and stable as judged by ${vs.count} rollout ${
      vs.count === 1 ? "analysis" : "analyses"
    }`
    : "";
  const desc = data.count === 0
    ? `Error rate (%) and P99 latency (ms) of the ${analyses} from ` +
      `${formatTime(first)} to ${formatTime(last)} UTC`
    : `Error rate (%) and P99 latency (ms) of ${data.count} status checks from ` +
      `${formatTime(first)} to ${formatTime(last)} UTC` +
      (data.sampled === undefined
        ? ""
        : `; each series shows the lowest and highest value per time slice (at most ${data.sampled} points)`) +
      (vs ? `; ${analyses}` : "");
  const out = header(desc);

  const legend = [
    { kind: "line", color: COLORS.error, label: "Error rate (%)" },
    { kind: "line", color: COLORS.p99, label: "P99 latency (ms)" },
    { kind: "box", color: COLORS.chaos, label: "Chaos injected" },
    { kind: "dash", color: COLORS.marker, label: "Deploy / promotion" },
    { kind: "dash", color: COLORS.blocked, label: "Blocked by policy" },
  ];
  out.push(`  <g id="legend">`);
  legend.forEach((item, i) => {
    const lx = LEFT + i * 152;
    if (item.kind === "box") {
      out.push(
        el("rect", { x: lx, y: 46, width: 22, height: 12, fill: item.color, "fill-opacity": 0.6 }),
      );
    } else {
      out.push(el("line", {
        x1: lx,
        y1: 52,
        x2: lx + 22,
        y2: 52,
        stroke: item.color,
        "stroke-width": 2,
        ...(item.kind === "dash" ? { "stroke-dasharray": "4 3" } : {}),
      }));
    }
    out.push(el("text", { x: lx + 28, y: 56 }, item.label));
  });
  if (vs) {
    // A second row, below the time axis, only when rollouts were analysed.
    VARIANT_LINES.forEach((item, i) => {
      const lx = LEFT + i * 304;
      out.push(el("line", { x1: lx, y1: 520, x2: lx + 22, y2: 520, ...item.stroke }));
      out.push(el("text", { x: lx + 28, y: 524 }, item.label));
    });
  }
  out.push("  </g>");

  const series = [
    { key: "error" as const, title: "Error rate (%)", color: COLORS.error, id: "error-rate" },
    { key: "p99" as const, title: "P99 latency (ms)", color: COLORS.p99, id: "p99-latency" },
  ];
  series.forEach((s, i) => {
    const panel = PANELS[i]!;
    const pts = data[s.key];
    const values: number[] = [];
    for (const p of pts) if (p.v !== null) values.push(p.v);
    const variantValues: number[] = [];
    for (const key of ["canary", "stable"] as const) {
      for (const p of vs?.[key][s.key] ?? []) if (p.v !== null) variantValues.push(p.v);
    }
    const scale = yScale(variantValues.length ? [...values, ...variantValues] : values);
    const y = (v: number) => panel.top + panel.height - (v / scale.top) * panel.height;
    const bottom = panel.top + panel.height;
    const cy = panel.top + panel.height / 2;
    out.push(`  <g id="${s.id}-panel">`);

    for (const span of spans) {
      const sx = clampX(span.from);
      out.push(withTitle("rect", {
        x: f(sx),
        y: panel.top,
        width: f(Math.max(1, clampX(span.to) - sx)),
        height: panel.height,
        fill: COLORS.chaos,
        "fill-opacity": 0.45,
      }, `chaos: ${span.label}`));
    }
    for (const tick of scale.ticks) {
      const ty = f(y(tick));
      out.push(el("line", { x1: LEFT, y1: ty, x2: LEFT + PLOT_W, y2: ty, stroke: COLORS.grid }));
      out.push(el("text", {
        x: LEFT - 8,
        y: f(y(tick) + 4),
        "text-anchor": "end",
        fill: COLORS.axis,
      }, tickText(tick)));
    }
    for (const tick of time.ticks) {
      const tx = f(x(tick));
      out.push(el("line", { x1: tx, y1: panel.top, x2: tx, y2: bottom, stroke: COLORS.grid }));
      if (i === series.length - 1) {
        out.push(el("text", {
          x: tx,
          y: bottom + 18,
          "text-anchor": "middle",
          fill: COLORS.axis,
        }, time.label(tick)));
      }
    }
    // Labels that would overlap the previous one are left out (the line stays).
    let lastLabelEnd = -Infinity;
    for (const m of marks) {
      const mx = f(x(m.t));
      const color = m.blocked ? COLORS.blocked : COLORS.marker;
      out.push(el("line", {
        x1: mx,
        y1: panel.top,
        x2: mx,
        y2: bottom,
        stroke: color,
        "stroke-width": 1.5,
        "stroke-dasharray": "4 3",
      }));
      const px = x(m.t);
      const width = m.label.length * 6.5;
      // The label's extent as drawn: from its point at the left edge, up to it
      // at the right edge, centred on it elsewhere.
      const anchor = px < LEFT + 40 ? "start" : px > LEFT + PLOT_W - 40 ? "end" : "middle";
      const from = anchor === "start" ? px : anchor === "end" ? px - width : px - width / 2;
      if (i === 0 && from > lastLabelEnd + 4) {
        lastLabelEnd = from + width;
        out.push(el("text", {
          x: mx,
          y: panel.top - 6,
          "text-anchor": anchor,
          "font-size": 11,
          fill: color,
        }, m.label));
      }
    }
    out.push(el("rect", {
      x: LEFT,
      y: panel.top,
      width: PLOT_W,
      height: panel.height,
      fill: "none",
      stroke: COLORS.axis,
    }));
    out.push(el("text", {
      x: 22,
      y: cy,
      "text-anchor": "middle",
      transform: `rotate(-90 22 ${cy})`,
      "font-weight": "bold",
    }, s.title));
    if (values.length === 0 && variantValues.length === 0) {
      out.push(el("text", {
        x: LEFT + PLOT_W / 2,
        y: cy,
        "text-anchor": "middle",
        fill: COLORS.axis,
      }, "No data"));
    }

    // Lines, broken where a check had no value.
    const segments: { t: number; v: number }[][] = [];
    let segment: { t: number; v: number }[] = [];
    for (const p of pts) {
      if (p.v === null) {
        if (segment.length) segments.push(segment);
        segment = [];
      } else segment.push({ t: p.t, v: p.v });
    }
    if (segment.length) segments.push(segment);
    const dotAll = values.length <= MAX_DOTS;
    for (const seg of segments) {
      if (seg.length > 1) {
        out.push(el("polyline", {
          points: seg.map((p) => `${f(x(p.t))},${f(y(p.v))}`).join(" "),
          fill: "none",
          stroke: s.color,
          "stroke-width": 2,
          "stroke-linejoin": "round",
        }));
      }
      if (dotAll || seg.length === 1) {
        for (const p of seg) {
          const v = p.v;
          out.push(withTitle(
            "circle",
            { cx: f(x(p.t)), cy: f(y(v)), r: 3, fill: s.color },
            `${formatTime(p.t)}: ${v.toFixed(2)}`,
          ));
        }
      }
    }
    for (const v of VARIANT_LINES) {
      const vpts = vs?.[v.key][s.key] ?? [];
      const unit = s.key === "error" ? "%" : " ms";
      for (const seg of segmentsOf(vpts)) {
        if (seg.length > 1) {
          out.push(el("polyline", {
            points: seg.map((p) => `${f(x(p.t))},${f(y(p.v))}`).join(" "),
            fill: "none",
            "stroke-linejoin": "round",
            ...v.stroke,
          }));
        }
        for (const p of seg) {
          out.push(withTitle(
            "rect",
            { x: f(x(p.t) - 3), y: f(y(p.v) - 3), width: 6, height: 6, fill: v.stroke.stroke },
            `${formatTime(p.t)}: ${v.key} ${p.above ? "above " : ""}${p.v.toFixed(2)}${unit}`,
          ));
        }
      }
    }
    out.push("  </g>");
  });

  out.push(el(
    "text",
    {
      x: LEFT + PLOT_W / 2,
      y: H - 16,
      "text-anchor": "middle",
      "font-weight": "bold",
    },
    `Time (UTC, ${new Date(t0).toISOString().slice(0, 10)})`,
    2,
  ));
  out.push("</svg>", "");
  return out.join("\n");
}

/** The per-variant lines: canary solid orange, stable dashed green (colour-blind safe by the dash too). */
const VARIANT_LINES = [
  {
    key: "canary" as const,
    label: "Canary (rollout analysis)",
    stroke: { stroke: COLORS.canary, "stroke-width": 2 },
  },
  {
    key: "stable" as const,
    label: "Stable (rollout analysis)",
    stroke: { stroke: COLORS.stable, "stroke-width": 2, "stroke-dasharray": "6 3" },
  },
];

/** Runs of points with a value; a null point (a gap) ends a run. */
function segmentsOf(
  pts: readonly VariantPoint[],
): { t: number; v: number; above: boolean }[][] {
  const out: { t: number; v: number; above: boolean }[][] = [];
  let run: { t: number; v: number; above: boolean }[] = [];
  for (const p of pts) {
    if (p.v === null) {
      if (run.length) out.push(run);
      run = [];
    } else run.push({ t: p.t, v: p.v, above: p.above === true });
  }
  if (run.length) out.push(run);
  return out;
}
