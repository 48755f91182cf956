package swiftdeploy.canary_test

import data.swiftdeploy.canary

# Limits as `init` renders them from the shipped manifest.
limits := {"canary": {"max_error_rate_percent": 1.0, "max_p99_latency_ms": 500, "window_seconds": 30, "min_requests": 20}}

# A healthy canary asking to become stable.
healthy := {
	"current_mode": "canary",
	"target_mode": "stable",
	"error_rate_percent": 0.2,
	"p99_latency_ms": 25,
	"request_count": 250,
	"window_seconds": 30,
}

to_canary := {"current_mode": "stable", "target_mode": "canary"}

decide(given) := d if {
	d := canary.decision with input as given with data.limits as limits
}

decide_with(given, custom) := d if {
	d := canary.decision with input as given with data.limits as custom
}

with_values(values) := object.union(healthy, values)

# --- stable -> canary ----------------------------------------------------------

test_stable_to_canary_needs_only_valid_modes if {
	d := decide(to_canary)
	d.allow == true
	d.reasons == []
	d.domain == "canary"
	d.checked == {"outcome": "allowed", "direction": "stable_to_canary"}
}

test_stable_to_canary_ignores_bad_metrics if {
	d := decide(object.union(to_canary, {"error_rate_percent": 99, "p99_latency_ms": 1e9, "request_count": 0}))
	d.allow == true
	d.checked.outcome == "allowed"
	not d.checked.error_rate_percent
}

test_stable_to_canary_ignores_null_metrics if {
	d := decide(object.union(to_canary, {"error_rate_percent": null, "p99_latency_ms": null, "request_count": null}))
	d.allow == true
}

test_stable_to_canary_needs_no_limits if {
	d := decide_with(to_canary, {})
	d.allow == true
}

# --- canary -> stable: allowed -------------------------------------------------

test_healthy_canary_is_promoted if {
	d := decide(healthy)
	d.allow == true
	d.reasons == []
	d.checked == {
		"outcome": "allowed",
		"direction": "canary_to_stable",
		"request_count": 250,
		"error_rate_percent": 0.2,
		"p99_latency_ms": 25,
	}
}

test_values_exactly_at_each_threshold_are_allowed if {
	d := decide(with_values({"error_rate_percent": 1, "p99_latency_ms": 500.0, "request_count": 20}))
	d.allow == true
	d.checked.outcome == "allowed"
}

test_values_just_inside_each_threshold_are_allowed if {
	d := decide(with_values({"error_rate_percent": 0.99, "p99_latency_ms": 499.99, "request_count": 21}))
	d.allow == true
}

test_zero_errors_and_zero_latency_are_allowed if {
	d := decide(with_values({"error_rate_percent": 0, "p99_latency_ms": 0}))
	d.allow == true
}

test_huge_traffic_is_allowed if {
	d := decide(with_values({"request_count": 1e9}))
	d.allow == true
}

test_the_direct_forms_equal_the_general_form if {
	no_window := {"canary": {"max_error_rate_percent": 1, "max_p99_latency_ms": 500, "min_requests": 20}}
	text_limit := {"canary": {"max_error_rate_percent": 1, "max_p99_latency_ms": "500", "min_requests": 20}}
	every given in [
		healthy, to_canary, {}, ["canary", "stable"],
		with_values({"error_rate_percent": 1, "p99_latency_ms": 500.0, "request_count": 20}),
		object.remove(healthy, ["window_seconds"]),
		with_values({"error_rate_percent": 1.01}), with_values({"p99_latency_ms": 500.01}),
		with_values({"error_rate_percent": 56.45, "p99_latency_ms": 612.3}),
		with_values({"error_rate_percent": 56.45, "p99_latency_ms": 612.3, "request_count": 19}),
		with_values({"error_rate_percent": "2"}), with_values({"target_mode": "canary"}),
		object.remove(healthy, ["p99_latency_ms"]),
	] {
		every custom in [limits, no_window, text_limit, {}] {
			d := decide_with(given, custom)
			d == canary.general_decision with input as given with data.limits as custom
		}
	}
}

every_check_passed if {
	canary.to_stable
	canary.traffic_ok
	canary.error_rate_ok
	canary.latency_ok
} else := false

judged_checks if {
	canary.to_stable
	canary.traffic_ok
	canary.metrics_apply
	is_number(input.error_rate_percent)
	is_number(input.p99_latency_ms)
	is_number(data.limits.canary.max_error_rate_percent)
	is_number(data.limits.canary.max_p99_latency_ms)
} else := false

test_judged_is_enough_traffic_with_every_figure_a_number if {
	text_limit := {"canary": {"max_error_rate_percent": 1, "max_p99_latency_ms": "500", "min_requests": 20}}
	every given in [
		healthy, to_canary, {}, with_values({"p99_latency_ms": 900}),
		with_values({"request_count": 19}), with_values({"error_rate_percent": null}),
		with_values({"p99_latency_ms": "9"}), with_values({"target_mode": "canary"}),
	] {
		every custom in [limits, {}, text_limit] {
			judged := canary.judged with input as given with data.limits as custom
			judged == judged_checks with input as given with data.limits as custom
		}
	}
}

test_promotable_is_to_stable_with_every_check_passed if {
	text_limit := {"canary": {"max_error_rate_percent": 1, "max_p99_latency_ms": 500, "min_requests": "20"}}
	every given in [
		healthy, to_canary, {}, ["canary", "stable"],
		with_values({"request_count": 20, "error_rate_percent": 1, "p99_latency_ms": 500}),
		with_values({"request_count": 19}), with_values({"error_rate_percent": 1.01}),
		with_values({"p99_latency_ms": "9"}), with_values({"target_mode": "canary"}),
		object.remove(healthy, ["request_count"]),
	] {
		every custom in [limits, {}, text_limit] {
			promotable := canary.promotable with input as given with data.limits as custom
			promotable == every_check_passed with input as given with data.limits as custom
		}
	}
}

# --- canary -> stable: thresholds ----------------------------------------------

test_error_rate_just_above_maximum_is_denied if {
	d := decide(with_values({"error_rate_percent": 1.01}))
	d.allow == false
	d.reasons == ["error rate 1.01% exceeds the maximum 1.00%"]
	d.checked.outcome == "denied"
	d.checked == {
		"outcome": "denied",
		"direction": "canary_to_stable",
		"request_count": 250,
		"error_rate_percent": 1.01,
		"p99_latency_ms": 25,
	}
}

test_latency_just_above_maximum_is_denied if {
	d := decide(with_values({"p99_latency_ms": 500.01}))
	d.allow == false
	d.reasons == ["P99 latency 500.01 ms exceeds the maximum 500.00 ms"]
	d.checked.p99_latency_ms == 500.01
}

test_seed_example_reports_both_failures_sorted if {
	d := decide(with_values({"error_rate_percent": 56.45, "p99_latency_ms": 612.3}))
	d.allow == false
	d.reasons == [
		"P99 latency 612.30 ms exceeds the maximum 500.00 ms",
		"error rate 56.45% exceeds the maximum 1.00%",
	]
}

test_huge_error_rate_and_latency_are_denied if {
	d := decide(with_values({"error_rate_percent": 100, "p99_latency_ms": 1e9}))
	d.reasons == [
		"P99 latency 1000000000.00 ms exceeds the maximum 500.00 ms",
		"error rate 100.00% exceeds the maximum 1.00%",
	]
}

test_thresholds_come_from_data if {
	custom := {"canary": {"max_error_rate_percent": 0.1, "max_p99_latency_ms": 20, "window_seconds": 60, "min_requests": 500}}
	d := decide_with(healthy, custom)
	d.allow == false
	d.reasons == ["insufficient traffic: 250 requests in the 30s window, at least 500 required"]
	d2 := decide_with(with_values({"request_count": 500}), custom)
	d2.reasons == [
		"P99 latency 25.00 ms exceeds the maximum 20.00 ms",
		"error rate 0.20% exceeds the maximum 0.10%",
	]
}

# --- canary -> stable: insufficient traffic --------------------------------------

test_one_request_below_minimum_is_insufficient_traffic if {
	d := decide(with_values({"request_count": 19}))
	d.allow == false
	d.reasons == ["insufficient traffic: 19 requests in the 30s window, at least 20 required"]
	d.checked.outcome == "insufficient_traffic"
	d.checked == {"outcome": "insufficient_traffic", "direction": "canary_to_stable", "request_count": 19}
}

test_exactly_minimum_requests_is_enough_traffic if {
	d := decide(with_values({"request_count": 20}))
	d.checked.outcome == "allowed"
	d.checked.request_count == 20
}

test_zero_requests_is_insufficient_traffic if {
	d := decide(with_values({"request_count": 0}))
	d.reasons == ["insufficient traffic: 0 requests in the 30s window, at least 20 required"]
	d.checked.outcome == "insufficient_traffic"
}

test_a_single_request_is_singular if {
	d := decide(with_values({"request_count": 1}))
	d.reasons == ["insufficient traffic: 1 request in the 30s window, at least 20 required"]
}

test_fractional_request_count_shows_decimals if {
	d := decide(with_values({"request_count": 19.5}))
	d.reasons == ["insufficient traffic: 19.50 requests in the 30s window, at least 20 required"]
}

test_insufficient_traffic_does_not_judge_error_rate_or_latency if {
	d := decide(with_values({"request_count": 5, "error_rate_percent": 80, "p99_latency_ms": null}))
	d.reasons == ["insufficient traffic: 5 requests in the 30s window, at least 20 required"]
	d.checked.outcome == "insufficient_traffic"
	not d.checked.error_rate_percent
	not d.checked.p99_latency_ms
}

test_insufficient_traffic_names_the_observed_window if {
	d := decide(with_values({"request_count": 5, "window_seconds": 45}))
	d.reasons == ["insufficient traffic: 5 requests in the 45s window, at least 20 required"]
}

test_insufficient_traffic_falls_back_to_the_configured_window if {
	d := decide(object.remove(with_values({"request_count": 5}), ["window_seconds"]))
	d.reasons == ["insufficient traffic: 5 requests in the 30s window, at least 20 required"]
}

test_insufficient_traffic_without_any_window if {
	custom := {"canary": {"max_error_rate_percent": 1, "max_p99_latency_ms": 500, "min_requests": 20}}
	d := decide_with(with_values({"request_count": 5, "window_seconds": "30s"}), custom)
	d.reasons == ["insufficient traffic: 5 requests in the window, at least 20 required"]
}

# --- canary -> stable: missing and malformed metrics ------------------------------

test_each_missing_metric_is_named if {
	every field in ["error_rate_percent", "p99_latency_ms", "request_count"] {
		d := decide(object.remove(healthy, [field]))
		d.allow == false
		d.reasons == [concat("", ["input field \"", field, "\" is missing"])]
		d.checked.outcome == "denied"
	}
}

test_each_null_metric_is_missing if {
	every field in ["error_rate_percent", "p99_latency_ms", "request_count"] {
		d := decide(with_values({field: null}))
		d.allow == false
		d.reasons == [concat("", ["input field \"", field, "\" is missing"])]
	}
}

test_no_metrics_at_all_names_every_metric if {
	d := decide({"current_mode": "canary", "target_mode": "stable"})
	d.allow == false
	d.reasons == [
		"input field \"error_rate_percent\" is missing",
		"input field \"p99_latency_ms\" is missing",
		"input field \"request_count\" is missing",
	]
	d.checked == {
		"outcome": "denied",
		"direction": "canary_to_stable",
		"request_count": null,
		"error_rate_percent": null,
		"p99_latency_ms": null,
	}
}

test_wrong_metric_types_are_named if {
	d := decide(with_values({"error_rate_percent": "0.5", "p99_latency_ms": false, "request_count": {"n": 3}}))
	d.allow == false
	d.reasons == [
		"input field \"error_rate_percent\" must be a number, got \"0.5\"",
		"input field \"p99_latency_ms\" must be a number, got boolean",
		"input field \"request_count\" must be a number, got object",
	]
}

# --- modes ---------------------------------------------------------------------

test_promoting_to_the_current_canary_mode_is_denied if {
	d := decide(with_values({"target_mode": "canary"}))
	d.allow == false
	d.reasons == ["service is already in canary mode"]
	d.checked == {"outcome": "denied", "direction": "none"}
}

test_promoting_to_the_current_stable_mode_is_denied if {
	d := decide({"current_mode": "stable", "target_mode": "stable"})
	d.reasons == ["service is already in stable mode"]
}

test_unknown_modes_are_denied if {
	d := decide({"current_mode": "blue", "target_mode": "Stable"})
	d.allow == false
	d.reasons == [
		"input field \"current_mode\" must be \"stable\" or \"canary\", got \"blue\"",
		"input field \"target_mode\" must be \"stable\" or \"canary\", got \"Stable\"",
	]
	d.checked.direction == "none"
	d.checked.outcome == "denied"
}

test_non_string_mode_is_named_by_type if {
	d := decide(with_values({"target_mode": 1}))
	d.reasons == ["input field \"target_mode\" must be \"stable\" or \"canary\", got number"]
}

test_missing_modes_are_named if {
	d := decide({"error_rate_percent": 0})
	d.reasons == [
		"input field \"current_mode\" is missing",
		"input field \"target_mode\" is missing",
	]
	d.checked == {"outcome": "denied", "direction": "none"}
}

test_no_input_at_all_is_denied if {
	d := canary.decision with data.limits as limits
	d.allow == false
	count(d.reasons) == 2
}

test_input_that_is_not_an_object_is_denied if {
	d := decide(["canary", "stable"])
	d.allow == false
	count(d.reasons) == 2
}

# --- policy data -------------------------------------------------------------------

test_missing_limits_deny_naming_the_data_path if {
	d := decide_with(healthy, {})
	d.allow == false
	d.reasons == [
		"policy data \"limits.canary.max_error_rate_percent\" is missing",
		"policy data \"limits.canary.max_p99_latency_ms\" is missing",
		"policy data \"limits.canary.min_requests\" is missing",
	]
	d.checked.outcome == "denied"
}

test_non_numeric_limit_is_named_by_type if {
	custom := {"canary": {"max_error_rate_percent": "1%", "max_p99_latency_ms": 500, "window_seconds": 30, "min_requests": 20}}
	d := decide_with(healthy, custom)
	d.reasons == ["policy data \"limits.canary.max_error_rate_percent\" must be a number, got \"1%\""]
}

# --- shape ---------------------------------------------------------------------------

test_decision_has_exactly_the_four_keys if {
	every given in [healthy, to_canary, {}, with_values({"request_count": 1})] {
		object.keys(decide(given)) == {"allow", "reasons", "domain", "checked"}
	}
}

test_a_denial_always_has_a_reason if {
	every given in [{}, with_values({"request_count": 1}), with_values({"target_mode": "canary"}), with_values({"p99_latency_ms": 900})] {
		d := decide(given)
		d.allow == false
		count(d.reasons) > 0
	}
}

# --- P99 beyond the highest finite bucket (issue 11 case 3) -------------------

# The app saw every request above its 10 s bucket: only "P99 > 10000 ms" is known.
test_p99_beyond_the_buckets_is_denied_even_below_the_limit if {
	d := decide_with(
		with_values({"p99_latency_ms": null, "p99_above_ms": 10000}),
		{"canary": {"max_error_rate_percent": 1, "max_p99_latency_ms": 15000, "window_seconds": 30, "min_requests": 20}},
	)
	d.allow == false
	d.reasons == ["P99 latency is above 10000.00 ms (beyond the highest latency bucket), it cannot be shown within the maximum 15000.00 ms"]
	d.checked.outcome == "denied"
}

test_p99_beyond_the_buckets_above_the_limit_is_denied if {
	d := decide(with_values({"p99_latency_ms": null, "p99_above_ms": 10000}))
	d.allow == false
	d.reasons == ["P99 latency is above 10000.00 ms (beyond the highest latency bucket), it exceeds the maximum 500.00 ms"]
}

# A figure beside the lower bound does not make the fast path allow.
test_p99_above_wins_over_a_number if {
	d := decide(with_values({"p99_latency_ms": 25, "p99_above_ms": 10000}))
	d.allow == false
	d.reasons == ["P99 latency is above 10000.00 ms (beyond the highest latency bucket), it exceeds the maximum 500.00 ms"]
	not canary.promotable with input as with_values({"p99_latency_ms": 25, "p99_above_ms": 10000}) with data.limits as limits
}

test_p99_above_is_ignored_on_insufficient_traffic_and_to_canary if {
	d := decide(with_values({"request_count": 5, "p99_latency_ms": null, "p99_above_ms": 10000}))
	d.checked.outcome == "insufficient_traffic"
	d.reasons == ["insufficient traffic: 5 requests in the 30s window, at least 20 required"]
	decide(object.union(to_canary, {"p99_above_ms": 10000})).allow == true
}

# --- unknown figures (issue 11 case 5) -----------------------------------------

test_unknown_figures_are_denied_with_their_reason if {
	why := "http_requests_total{status_code=\"500\"} is NaN"
	d := decide(with_values({
		"request_count": null,
		"error_rate_percent": null,
		"unknown_figures": {"request_count": why, "error_rate_percent": why},
	}))
	d.allow == false
	d.reasons == [
		concat("", ["error rate is unknown: ", why]),
		concat("", ["request count is unknown: ", why]),
	]
}

test_unknown_latency_is_denied_with_its_reason if {
	d := decide(with_values({
		"p99_latency_ms": null,
		"unknown_figures": {"p99_latency_ms": "a bucket went down without a restart of the app"},
	}))
	d.allow == false
	d.reasons == ["P99 latency is unknown: a bucket went down without a restart of the app"]
}

# A reason for a figure that is a number does not turn it unknown; a
# malformed unknown_figures is ignored (the plain "missing" reason stays).
test_unknown_figures_only_explain_null_figures if {
	decide(with_values({"unknown_figures": {"p99_latency_ms": "x"}})).allow == true
	d := decide(with_values({"p99_latency_ms": null, "unknown_figures": "x"}))
	d.reasons == ["input field \"p99_latency_ms\" is missing"]
}
