# Analysis step of a canary rollout: continue, hold or roll back?
#
# Input: {"step": index, "weight": 0-100, "window_seconds": number,
#         "analyses_failed": count before this one,
#         "analyses_inconclusive": count before this one,
#         "canary": V, "stable": V}
#   V = {"requests", "errors", "error_rate_percent", "p99_latency_ms",
#        "p99_above_ms" (optional), "unknown" (optional)}
# Figures are those of one analysis window, per variant, as nginx (or
# Prometheus) counted them. A figure may be null (or absent): unknown, with
# `unknown` saying why when it is a string. p99_latency_ms is the upper bound
# of the latency bucket that holds the P99; p99_above_ms is set instead when
# the P99 lies beyond the highest finite bucket (a lower bound).
# Data:  data.limits.rollout.{min_requests, max_error_rate_percent,
#        max_error_rate_increase_points, max_p99_latency_ms, max_p99_ratio,
#        p99_ratio_floor_ms,
#        failure_limit, inconclusive_limit}, rendered from the manifest's
#        rollout.analysis; no threshold is written here.
#
# The analysis fails when, on enough traffic, a check fails:
#   canary (at least min_requests canary requests):
#     error rate above max_error_rate_percent; P99 above max_p99_latency_ms;
#     P99 beyond the highest latency bucket (its bound cannot be shown);
#   canary against stable (at least min_requests requests on each):
#     error rate above stable's plus max_error_rate_increase_points;
#     P99 above max_p99_ratio times stable's (when stable's P99 is above 0
#     and the canary's above p99_ratio_floor_ms).
# It is inconclusive, when it did not fail, if a variant served fewer than
# min_requests ("too little traffic", a named outcome, never a silent pass),
# or a figure or limit a check needs is unknown. Failed beats inconclusive.
# Then: failed -> hold while fewer than failure_limit analyses failed
# before this one (analyses_failed + 1 <= failure_limit), else rollback;
# inconclusive -> the same with inconclusive_limit; otherwise continue. A
# count or tolerance that is not a number cannot show a hold is tolerated:
# rollback (stable is the side that is known to serve).
#
# Comparisons against stable plus or times a limit are made on figures
# rounded to a millionth (micro): the OPA server computes on binary floats
# (1.1 * 3 > 3.3 there) and the WASM build on exact decimals, and the two
# must decide alike. Every other comparison is between figures as given.
package swiftdeploy.rollout

import data.swiftdeploy.text

# The input and the limits as objects ({} when absent or not an object),
# so every field reads as its value or null.
given := input if is_object(input)

else := {}

limits := data.limits.rollout if is_object(data.limits.rollout)

else := {}

variants := ["canary", "stable"]

# variant(name) is the figures object of "canary" or "stable", {} when absent.
variant(name) := v if {
	v := given[name]
	is_object(v)
} else := {}

canary := variant("canary")

stable := variant("stable")

figure(v, key) := object.get(v, key, null)

limit(name) := object.get(limits, name, null)

min_requests := limit("min_requests")

max_error_rate_percent := limit("max_error_rate_percent")

max_error_rate_increase_points := limit("max_error_rate_increase_points")

max_p99_latency_ms := limit("max_p99_latency_ms")

max_p99_ratio := limit("max_p99_ratio")

p99_ratio_floor_ms := limit("p99_ratio_floor_ms")

failure_limit := limit("failure_limit")

inconclusive_limit := limit("inconclusive_limit")

analyses_failed := object.get(given, "analyses_failed", null)

analyses_inconclusive := object.get(given, "analyses_inconclusive", null)

window_seconds := object.get(given, "window_seconds", null)

c_requests := figure(canary, "requests")

c_error_rate := figure(canary, "error_rate_percent")

c_p99 := figure(canary, "p99_latency_ms")

c_above := figure(canary, "p99_above_ms")

s_error_rate := figure(stable, "error_rate_percent")

s_p99 := figure(stable, "p99_latency_ms")

s_above := figure(stable, "p99_above_ms")

# micro(x) is number x in millionths, rounded: an integer both engines agree on.
micro(x) := round(x * 1000000)

# --- traffic -------------------------------------------------------------

# enough(v): the variant served at least min_requests in the window.
enough(v) if {
	requests := figure(v, "requests")
	is_number(requests)
	is_number(min_requests)
	requests >= min_requests
}

default canary_judged := false

canary_judged if enough(canary)

default both_judged := false

both_judged if {
	canary_judged
	enough(stable)
}

# --- failed checks -------------------------------------------------------

failures contains text.above("canary error rate", c_error_rate, max_error_rate_percent, "%") if {
	canary_judged
	is_number(c_error_rate)
	is_number(max_error_rate_percent)
	c_error_rate > max_error_rate_percent
}

failures contains text.above("canary P99 latency", c_p99, max_p99_latency_ms, " ms") if {
	canary_judged
	is_number(c_p99)
	is_number(max_p99_latency_ms)
	c_p99 > max_p99_latency_ms
}

failures contains concat("", [
	"canary P99 latency is above ", text.fixed(c_above, 2),
	" ms (beyond the highest latency bucket), its bound cannot be shown",
]) if {
	canary_judged
	is_number(c_above)
}

failures contains concat("", [
	"canary error rate ", text.fixed(c_error_rate, 2), "% exceeds stable's ",
	text.fixed(s_error_rate, 2), "% by more than ",
	text.fixed(max_error_rate_increase_points, 2), " points",
]) if {
	both_judged
	is_number(c_error_rate)
	is_number(s_error_rate)
	is_number(max_error_rate_increase_points)
	micro(c_error_rate) > micro(s_error_rate) + micro(max_error_rate_increase_points)
}

failures contains concat("", [
	"canary P99 latency ", text.fixed(c_p99, 2), " ms exceeds ",
	text.fixed(max_p99_ratio, 2), " times stable's ", text.fixed(s_p99, 2), " ms",
]) if {
	both_judged
	ratio_applies
	micro(c_p99) * 1000000 > micro(max_p99_ratio) * micro(s_p99)
}

# The ratio is judged against a stable P99 above 0 (0 ms gives no scale),
# and only for a canary P99 above the floor: at a few milliseconds the
# buckets are coarse and a fresh process's first requests dominate.
default ratio_applies := false

ratio_applies if {
	is_number(c_p99)
	is_number(s_p99)
	is_number(max_p99_ratio)
	is_number(p99_ratio_floor_ms)
	s_p99 > 0
	c_p99 > p99_ratio_floor_ms
}

# --- inconclusive --------------------------------------------------------

gaps contains traffic_reason(name, requests) if {
	some name in variants
	requests := figure(variant(name), "requests")
	is_number(requests)
	is_number(min_requests)
	requests < min_requests
}

# Request counts are always needed; the error rate and the P99 of the
# canary once it is judged, those of stable once both are.
gaps contains figure_problem(name, "requests") if {
	some name in variants
	not is_number(figure(variant(name), "requests"))
}

gaps contains figure_problem("canary", "error_rate_percent") if {
	canary_judged
	not is_number(c_error_rate)
}

gaps contains figure_problem("canary", "p99_latency_ms") if {
	canary_judged
	not is_number(c_p99)
	not is_number(c_above)
}

gaps contains figure_problem("stable", "error_rate_percent") if {
	both_judged
	not is_number(s_error_rate)
}

gaps contains figure_problem("stable", "p99_latency_ms") if {
	both_judged
	not is_number(s_p99)
	not is_number(s_above)
}

# Stable's P99 beyond the highest bucket: only its lower bound is known, so
# the ratio holds only when the canary is within it times that bound.
gaps contains concat("", [
	"canary P99 latency ", text.fixed(c_p99, 2), " ms cannot be shown within ",
	text.fixed(max_p99_ratio, 2), " times stable's, which is above ",
	text.fixed(s_above, 2), " ms (beyond the highest latency bucket)",
]) if {
	both_judged
	is_number(c_p99)
	not is_number(s_p99)
	is_number(s_above)
	is_number(max_p99_ratio)
	is_number(p99_ratio_floor_ms)
	c_p99 > p99_ratio_floor_ms
	micro(c_p99) * 1000000 > micro(max_p99_ratio) * micro(s_above)
}

gaps contains limit_problem("min_requests") if not is_number(min_requests)

gaps contains limit_problem(name) if {
	canary_judged
	some name in ["max_error_rate_percent", "max_p99_latency_ms"]
	not is_number(limit(name))
}

gaps contains limit_problem(name) if {
	both_judged
	some name in ["max_error_rate_increase_points", "max_p99_ratio", "p99_ratio_floor_ms"]
	not is_number(limit(name))
}

# `too little traffic: canary served 5 requests in the 30s window, at least 20 required`
traffic_reason(name, requests) := concat("", [
	"too little traffic: ", name, " served ", text.amount(requests), requests_word(requests),
	" in the ", window_text, ", at least ", text.amount(min_requests), " required",
])

requests_word(1) := " request"

requests_word(n) := " requests" if n != 1

window_text := concat("", [text.amount(window_seconds), "s window"]) if {
	is_number(window_seconds)
} else := "window"

figure_label := {
	"requests": "request count",
	"error_rate_percent": "error rate",
	"p99_latency_ms": "P99 latency",
}

# figure_problem(name, field) says why a variant's figure cannot be judged:
# unknown (null or absent, with the variant's `unknown` as the reason when
# it is a string), or not a number.
figure_problem(name, field) := concat("", [name, " ", figure_label[field], " is unknown", why]) if {
	figure(variant(name), field) == null
	why := unknown_why(variant(name))
} else := text.not_a_number(concat(".", [name, field]), figure(variant(name), field))

unknown_why(v) := concat("", [": ", v.unknown]) if is_string(v.unknown)

else := ""

limit_problem(name) := text.limit_missing(limit_path(name)) if limit(name) == null

else := text.limit_not_a_number(limit_path(name), limit(name))

limit_path(name) := concat(".", ["limits", "rollout", name])

# --- outcome -------------------------------------------------------------

default failed := false

failed if count(failures) > 0

default inconclusive := false

inconclusive if {
	not failed
	count(gaps) > 0
}

# tolerated(before, most): one more failed (or inconclusive) analysis
# after `before` of them stays within the limit `most`.
tolerated(before, most) if {
	is_number(before)
	is_number(most)
	before >= 0
	before < most
}

outcome := "rollback" if {
	failed
	not tolerated(analyses_failed, failure_limit)
} else := "hold" if {
	failed
} else := "rollback" if {
	inconclusive
	not tolerated(analyses_inconclusive, inconclusive_limit)
} else := "hold" if {
	inconclusive
} else := "continue"

# The line that says why the outcome follows from the checks.
summary := tolerance_line("failed", "failed", analyses_failed, "failure_limit", failure_limit) if {
	failed
} else := tolerance_line("inconclusive", "inconclusive", analyses_inconclusive, "inconclusive_limit", inconclusive_limit) if {
	inconclusive
} else := concat("", [
	"canary within every limit: error rate ", text.fixed(c_error_rate, 2), "% (stable ",
	text.fixed(s_error_rate, 2), "%), P99 latency ", text.fixed(c_p99, 2), " ms (stable ",
	stable_p99_text, "), on ", text.amount(c_requests), " canary and ",
	text.amount(figure(stable, "requests")), " stable requests: continue",
])

stable_p99_text := concat("", [text.fixed(s_p99, 2), " ms"]) if is_number(s_p99)

else := concat("", ["above ", text.fixed(s_above, 2), " ms"])

# `analysis failed, 0 failed before it, failure_limit 0: roll back`
tolerance_line(what, kind, before, name, most) := concat("", [
	"analysis ", what, ", ", count_text(before), " ", kind, " before it, ", name, " ",
	count_text(most), ": ", verb,
]) if {
	verb := {"rollback": "roll back", "hold": "hold and analyse again"}[outcome]
}

count_text(x) := text.amount(x) if is_number(x)

else := "unknown"

# Counts and tolerances that cannot be compared, named when they decide.
count_problems contains problem if {
	failed
	problem := input_problem("analyses_failed", analyses_failed)
}

count_problems contains limit_problem("failure_limit") if {
	failed
	not is_number(failure_limit)
}

count_problems contains problem if {
	inconclusive
	problem := input_problem("analyses_inconclusive", analyses_inconclusive)
}

count_problems contains limit_problem("inconclusive_limit") if {
	inconclusive
	not is_number(inconclusive_limit)
}

input_problem(field, null) := text.missing(field)

input_problem(field, value) := text.not_a_number(field, value) if {
	value != null
	not is_number(value)
}

input_problem(field, value) := concat("", ["input field ", text.quote(field), " must not be negative, got ", text.amount(value)]) if {
	is_number(value)
	value < 0
}

reasons := sort((((failures | gaps) | count_problems) | {summary}))

shown(v) := {
	"requests": figure(v, "requests"),
	"errors": figure(v, "errors"),
	"error_rate_percent": figure(v, "error_rate_percent"),
	"p99_latency_ms": figure(v, "p99_latency_ms"),
	"p99_above_ms": figure(v, "p99_above_ms"),
}

# What was examined: each figure as given (null when absent), the limits as
# the data document holds them, the outcome and which way the checks went.
checked := {
	"outcome": outcome,
	"failed": failed,
	"inconclusive": inconclusive,
	"step": object.get(given, "step", null),
	"weight": object.get(given, "weight", null),
	"window_seconds": window_seconds,
	"analyses_failed": analyses_failed,
	"analyses_inconclusive": analyses_inconclusive,
	"canary": shown(canary),
	"stable": shown(stable),
	"limits": {
		"min_requests": min_requests,
		"max_error_rate_percent": max_error_rate_percent,
		"max_error_rate_increase_points": max_error_rate_increase_points,
		"max_p99_latency_ms": max_p99_latency_ms,
		"max_p99_ratio": max_p99_ratio,
		"p99_ratio_floor_ms": p99_ratio_floor_ms,
		"failure_limit": failure_limit,
		"inconclusive_limit": inconclusive_limit,
	},
}

decision := {
	"allow": outcome == "continue",
	"reasons": reasons,
	"domain": "rollout",
	"checked": checked,
}
