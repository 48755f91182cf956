# Pre-promote gate: may the service switch between stable and canary?
#
# Input: {"current_mode": "stable"|"canary", "target_mode": "stable"|"canary",
#         "error_rate_percent": number, "p99_latency_ms": number,
#         "request_count": number, "window_seconds": number}
# Metric fields may be absent or null when no metrics could be gathered.
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
package swiftdeploy.canary

import data.swiftdeploy.text

limits := data.limits.canary

modes := {"stable", "canary"}

mode_fields := ["current_mode", "target_mode"]

metric_limits := {
	"request_count": "min_requests",
	"error_rate_percent": "max_error_rate_percent",
	"p99_latency_ms": "max_p99_latency_ms",
}

default allow := false

allow if to_canary

allow if {
	to_stable
	traffic_ok
	error_rate_ok
	latency_ok
}

# --- modes ---------------------------------------------------------------

valid_mode(field) if input[field] in modes

modes_valid if {
	valid_mode("current_mode")
	valid_mode("target_mode")
}

same_mode if {
	modes_valid
	input.current_mode == input.target_mode
}

to_canary if {
	modes_valid
	input.current_mode == "stable"
	input.target_mode == "canary"
}

to_stable if {
	modes_valid
	input.current_mode == "canary"
	input.target_mode == "stable"
}

# Reasons exist only on a denial: each rule starts with `not allow`, which
# also skips them all cheaply on the allowed path.
reasons contains mode_problem(field) if {
	not allow
	some field in mode_fields
	not valid_mode(field)
}

reasons contains concat("", ["service is already in ", input.current_mode, " mode"]) if {
	not allow
	same_mode
}

mode_problem(field) := text.missing(field) if {
	not input_given(field)
} else := concat("", [
	"input field ", text.quote(field), " must be \"stable\" or \"canary\", got ",
	text.describe(input[field]),
])

# --- canary -> stable ----------------------------------------------------

usable_numbers(field) if {
	is_number(input[field])
	is_number(limits[metric_limits[field]])
}

default traffic_ok := false

traffic_ok if {
	usable_numbers("request_count")
	input.request_count >= limits.min_requests
}

default error_rate_ok := false

error_rate_ok if {
	usable_numbers("error_rate_percent")
	input.error_rate_percent <= limits.max_error_rate_percent
}

default latency_ok := false

latency_ok if {
	usable_numbers("p99_latency_ms")
	input.p99_latency_ms <= limits.max_p99_latency_ms
}

# Too few requests: the named outcome, and the only reason given.
insufficient_traffic if {
	to_stable
	usable_numbers("request_count")
	not traffic_ok
}

# Error rate and latency are judged only on enough traffic.
metrics_apply if {
	to_stable
	not insufficient_traffic
}

reasons contains traffic_reason if {
	not allow
	insufficient_traffic
}

reasons contains text.above("error rate", input.error_rate_percent, limits.max_error_rate_percent, "%") if {
	not allow
	metrics_apply
	usable_numbers("error_rate_percent")
	not error_rate_ok
}

reasons contains text.above("P99 latency", input.p99_latency_ms, limits.max_p99_latency_ms, " ms") if {
	not allow
	metrics_apply
	usable_numbers("p99_latency_ms")
	not latency_ok
}

reasons contains field_problem(field) if {
	not allow
	metrics_apply
	some field, _ in metric_limits
	not number_input(field)
}

reasons contains limit_problem(name) if {
	not allow
	metrics_apply
	some name in metric_limits
	not number_limit(name)
}

# `insufficient traffic: 5 requests in the 30s window, at least 20 required`
traffic_reason := concat("", [
	"insufficient traffic: ", text.amount(input.request_count), requests_word,
	" in the ", window_text, ", at least ", text.amount(limits.min_requests), " required",
])

requests_word := " request" if text.amount(input.request_count) == "1"

else := " requests"

# The window the metrics were gathered over, else the configured one.
window_text := concat("", [text.amount(window_seconds), "s window"]) if {
	window_seconds := input.window_seconds
	is_number(window_seconds)
} else := concat("", [text.amount(window_seconds), "s window"]) if {
	window_seconds := limits.window_seconds
	is_number(window_seconds)
} else := "window"

field_problem(field) := text.missing(field) if {
	not input_given(field)
} else := text.not_a_number(field, input[field])

limit_problem(name) := text.limit_missing(limit_path(name)) if {
	not limit_given(name)
} else := text.limit_not_a_number(limit_path(name), limits[name])

limit_path(name) := concat(".", ["limits", "canary", name])

input_given(field) if input[field] != null

limit_given(name) if limits[name] != null

# Helpers rather than `not is_number(input[field])` inline: OPA evaluates a
# call's arguments outside the negation, so an absent key (or no input at
# all) would make the expression undefined instead of true.
number_input(field) if is_number(input[field])

number_limit(name) if is_number(limits[name])

# --- decision ------------------------------------------------------------

outcome := "allowed" if allow

else := "insufficient_traffic" if insufficient_traffic

else := "denied"

direction := "canary_to_stable" if to_stable

else := "stable_to_canary" if to_canary

else := "none"

observed(field) := value if {
	value := input[field]
} else := null

limit(name) := value if {
	value := limits[name]
} else := null

# What was examined, by direction: modes always; on canary -> stable the
# traffic, and the error rate and latency when enough traffic was seen.
checked := object.union(base_checked, traffic_checked) if insufficient_traffic

else := object.union_n([base_checked, traffic_checked, metrics_checked]) if metrics_apply

else := base_checked

base_checked := {
	"outcome": outcome,
	"direction": direction,
	"current_mode": observed("current_mode"),
	"target_mode": observed("target_mode"),
}

traffic_checked := {
	"request_count": {"value": observed("request_count"), "min": limit("min_requests"), "ok": traffic_ok},
	"window_seconds": {"value": observed("window_seconds"), "configured": limit("window_seconds")},
}

metrics_checked := {
	"error_rate_percent": {
		"value": observed("error_rate_percent"),
		"max": limit("max_error_rate_percent"),
		"ok": error_rate_ok,
	},
	"p99_latency_ms": {"value": observed("p99_latency_ms"), "max": limit("max_p99_latency_ms"), "ok": latency_ok},
}

decision := {
	"allow": allow,
	"reasons": sort(reasons),
	"domain": "canary",
	"checked": checked,
}
