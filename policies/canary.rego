# Pre-promote gate: may the service switch between stable and canary?
#
# Input: {"current_mode": "stable"|"canary", "target_mode": "stable"|"canary",
#         "error_rate_percent": number, "p99_latency_ms": number,
#         "request_count": number, "window_seconds": number,
#         "p99_above_ms": number (optional), "unknown_figures": object (optional)}
# Metric fields may be absent or null when no metrics could be gathered.
# p99_latency_ms is the P99 as the CLI proves it: the upper bound of the
# latency bucket that holds it (at least 99 % of requests took at most this
# long), not an interpolation. p99_above_ms is set instead when the P99 lies
# beyond the highest finite bucket: a lower bound, so the latency check
# cannot pass. unknown_figures maps a null figure's field to why it is
# unknown although traffic was seen (a NaN, negative or decreasing counter):
# the figure fails its check with that reason.
# Data:  data.limits.canary.{max_error_rate_percent, max_p99_latency_ms,
#        window_seconds, min_requests}, rendered from the manifest's
#        policy_limits; no threshold is written here.
#
# Which checks apply is decided here, not in the CLI:
#   stable -> canary  only valid modes are required.
#   canary -> stable  the canary must have served at least min_requests in the
#                     window (else the outcome is "insufficient_traffic" and
#                     the error and latency checks are not applied: too few
#                     requests to judge), then error rate and P99 latency must
#                     be within their maximums.
#   same mode         denied: "service is already in <mode> mode".
#
# Written to be cheap in the in-process WASM build, where every rule
# evaluated, object key built and key looked up costs: each field is read
# once into a rule, the boolean rules have defaults (the WASM build keeps a
# rule's value only when it is defined, and evaluates an undefined one again
# at every reference), and the two usual canary -> stable outcomes (every
# check passed; judged on enough traffic and denied on its metrics) are
# decided by one rule each and written out directly, without the general
# reasons and `checked`. Tests keep each direct form equal to the general one.
package swiftdeploy.canary

import data.swiftdeploy.text

# The input and the limits as objects ({} when absent or not an object), so
# every field reads as its value or null: absent and null are the same to
# every check below.
given := input if is_object(input)

else := {}

limits := data.limits.canary if is_object(data.limits.canary)

else := {}

current_mode := object.get(given, "current_mode", null)

target_mode := object.get(given, "target_mode", null)

request_count := object.get(given, "request_count", null)

error_rate_percent := object.get(given, "error_rate_percent", null)

p99_latency_ms := object.get(given, "p99_latency_ms", null)

window_seconds := object.get(given, "window_seconds", null)

p99_above_ms := object.get(given, "p99_above_ms", null)

unknown_figures := object.get(given, "unknown_figures", {}) if {
	is_object(object.get(given, "unknown_figures", {}))
} else := {}

min_requests := object.get(limits, "min_requests", null)

max_error_rate_percent := object.get(limits, "max_error_rate_percent", null)

max_p99_latency_ms := object.get(limits, "max_p99_latency_ms", null)

configured_window := object.get(limits, "window_seconds", null)

modes := {"stable", "canary"}

default allow := false

allow if to_canary

allow if promotable

# The usual promotion, canary -> stable with enough traffic and every metric
# within its limit: to_stable, traffic_ok, error_rate_ok and latency_ok in
# one rule on the judged figures.
default promotable := false

promotable if {
	[_, errors, p99, max_errors, max_p99] := figures
	errors <= max_errors
	p99 <= max_p99
}

# canary -> stable with enough traffic and every figure and limit a number:
# the error rate and the latency can be judged (to_stable, traffic_ok and
# both metrics_apply checks in one rule).
default judged := false

judged if figures

# The figures of a judged input, each looked up once:
# [request_count, error_rate_percent, p99_latency_ms, max_error_rate_percent,
# max_p99_latency_ms]. Undefined when the input cannot be judged.
figures := [requests, errors, p99, max_errors, max_p99] if {
	input.current_mode == "canary"
	input.target_mode == "stable"
	lim := data.limits.canary
	requests := input.request_count
	least := lim.min_requests
	is_number(requests)
	is_number(least)
	requests >= least
	errors := input.error_rate_percent
	max_errors := lim.max_error_rate_percent
	is_number(errors)
	is_number(max_errors)
	p99 := input.p99_latency_ms
	max_p99 := lim.max_p99_latency_ms
	is_number(p99)
	is_number(max_p99)
	not is_number(p99_above_ms)
}

# --- modes ---------------------------------------------------------------

default to_canary := false

to_canary if {
	current_mode == "stable"
	target_mode == "canary"
}

default to_stable := false

to_stable if {
	current_mode == "canary"
	target_mode == "stable"
}

default same_mode := false

same_mode if {
	current_mode in modes
	current_mode == target_mode
}

# Reasons are only asked for on a denial (see `decision`); on an allowed
# input none of these rules holds anyway.
reasons contains mode_problem("current_mode", current_mode) if {
	not current_mode in modes
}

reasons contains mode_problem("target_mode", target_mode) if {
	not target_mode in modes
}

reasons contains concat("", ["service is already in ", current_mode, " mode"]) if same_mode

mode_problem(field, null) := text.missing(field)

mode_problem(field, value) := concat("", [
	"input field ", text.quote(field), " must be \"stable\" or \"canary\", got ",
	text.describe(value),
]) if value != null

# --- canary -> stable ----------------------------------------------------

default traffic_ok := false

traffic_ok if {
	is_number(request_count)
	is_number(min_requests)
	request_count >= min_requests
}

default error_rate_ok := false

error_rate_ok if {
	is_number(error_rate_percent)
	is_number(max_error_rate_percent)
	error_rate_percent <= max_error_rate_percent
}

default latency_ok := false

latency_ok if {
	is_number(p99_latency_ms)
	is_number(max_p99_latency_ms)
	p99_latency_ms <= max_p99_latency_ms
}

# Too few requests: the named outcome, and the only reason given.
default insufficient_traffic := false

insufficient_traffic if {
	to_stable
	is_number(request_count)
	is_number(min_requests)
	not traffic_ok
}

# Error rate and latency are judged only on enough traffic.
default metrics_apply := false

metrics_apply if {
	to_stable
	not insufficient_traffic
}

reasons contains traffic_reason if insufficient_traffic

reasons contains text.above("error rate", error_rate_percent, max_error_rate_percent, "%") if {
	metrics_apply
	is_number(error_rate_percent)
	is_number(max_error_rate_percent)
	not error_rate_ok
}

reasons contains text.above("P99 latency", p99_latency_ms, max_p99_latency_ms, " ms") if {
	metrics_apply
	is_number(p99_latency_ms)
	is_number(max_p99_latency_ms)
	not latency_ok
}

# A P99 beyond the highest finite bucket: only a lower bound is known.
reasons contains p99_beyond_reason if {
	metrics_apply
	is_number(p99_above_ms)
	is_number(max_p99_latency_ms)
}

p99_beyond_reason := concat("", [
	"P99 latency is above ", text.fixed(p99_above_ms, 2),
	" ms (beyond the highest latency bucket), it exceeds the maximum ",
	text.fixed(max_p99_latency_ms, 2), " ms",
]) if {
	p99_above_ms >= max_p99_latency_ms
} else := concat("", [
	"P99 latency is above ", text.fixed(p99_above_ms, 2),
	" ms (beyond the highest latency bucket), it cannot be shown within the maximum ",
	text.fixed(max_p99_latency_ms, 2), " ms",
])

reasons contains field_problem(field, value) if {
	metrics_apply
	some field, value in {
		"request_count": request_count,
		"error_rate_percent": error_rate_percent,
		"p99_latency_ms": p99_latency_ms,
	}
	not is_number(value)
	not beyond_buckets(field)
}

beyond_buckets("p99_latency_ms") if is_number(p99_above_ms)

reasons contains limit_problem(name, value) if {
	metrics_apply
	some name, value in {
		"min_requests": min_requests,
		"max_error_rate_percent": max_error_rate_percent,
		"max_p99_latency_ms": max_p99_latency_ms,
	}
	not is_number(value)
}

# `insufficient traffic: 5 requests in the 30s window, at least 20 required`
traffic_reason := concat("", [
	"insufficient traffic: ", count_text, requests_word,
	" in the ", window_text, ", at least ", text.amount(min_requests), " required",
])

count_text := text.amount(request_count)

requests_word := " request" if count_text == "1"

else := " requests"

# The window the metrics were gathered over, else the configured one.
window_text := concat("", [text.amount(window_seconds), "s window"]) if {
	is_number(window_seconds)
} else := concat("", [text.amount(configured_window), "s window"]) if {
	is_number(configured_window)
} else := "window"

field_problem(field, null) := concat("", [figure_label[field], " is unknown: ", why]) if {
	why := unknown_figures[field]
	is_string(why)
} else := text.missing(field)

figure_label := {
	"request_count": "request count",
	"error_rate_percent": "error rate",
	"p99_latency_ms": "P99 latency",
}

field_problem(field, value) := text.not_a_number(field, value) if value != null

limit_problem(name, null) := text.limit_missing(limit_path(name))

limit_problem(name, value) := text.limit_not_a_number(limit_path(name), value) if value != null

limit_path(name) := concat(".", ["limits", "canary", name])

# --- decision ------------------------------------------------------------

outcome := "allowed" if allow

else := "insufficient_traffic" if insufficient_traffic

else := "denied"

direction := "canary_to_stable" if to_stable

else := "stable_to_canary" if to_canary

else := "none"

# What was examined: the outcome, the direction and, on canary -> stable,
# each input figure the policy judged, as given (null when it was not
# gathered, which tells the CLI the policy wants the window's figures):
# the request count, and the error rate and P99 latency when enough traffic
# was seen. The limits are the data document's.
checked := {
	"outcome": outcome,
	"direction": direction,
	"request_count": request_count,
	"error_rate_percent": error_rate_percent,
	"p99_latency_ms": p99_latency_ms,
} if metrics_apply

else := {"outcome": outcome, "direction": direction, "request_count": request_count} if insufficient_traffic

else := {"outcome": outcome, "direction": direction}

# The decision in its general form, for every input.
general_decision := {"allow": allow, "reasons": sort(reasons), "domain": "canary", "checked": checked}

# The two usual canary -> stable outcomes written out from the judged
# figures (the reasons in sorted order: "P99 ..." sorts before "error ..."),
# then the general form.
decision := {"allow": true, "reasons": [], "domain": "canary", "checked": {
	"outcome": "allowed",
	"direction": "canary_to_stable",
	"request_count": requests,
	"error_rate_percent": errors,
	"p99_latency_ms": p99,
}} if {
	[requests, errors, p99, max_errors, max_p99] := figures
	errors <= max_errors
	p99 <= max_p99
} else := {"allow": false, "reasons": reasons, "domain": "canary", "checked": {
	"outcome": "denied",
	"direction": "canary_to_stable",
	"request_count": requests,
	"error_rate_percent": errors,
	"p99_latency_ms": p99,
}} if {
	[requests, errors, p99, max_errors, max_p99] := figures
	reasons := array.concat(excess("P99 latency", p99, max_p99, " ms"), excess("error rate", errors, max_errors, "%"))
} else := general_decision

# excess(...) is a metric's reason when it exceeds its maximum, else none.
excess(label, value, maximum, unit) := [text.above(label, value, maximum, unit)] if value > maximum

else := []
