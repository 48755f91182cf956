package swiftdeploy.rollout_test

import data.swiftdeploy.rollout

# Limits as `init` renders them from the shipped manifest's rollout.analysis.
limits := {"rollout": {
	"min_requests": 20,
	"max_error_rate_percent": 5,
	"max_error_rate_increase_points": 1,
	"max_p99_latency_ms": 1000,
	"max_p99_ratio": 2,
	"p99_ratio_floor_ms": 0,
	"failure_limit": 0,
	"inconclusive_limit": 2,
}}

# A healthy canary at 10 % after its first window.
healthy := {
	"step": 2,
	"weight": 10,
	"window_seconds": 30,
	"analyses_failed": 0,
	"analyses_inconclusive": 0,
	"canary": {"requests": 50, "errors": 0, "error_rate_percent": 0, "p99_latency_ms": 25},
	"stable": {"requests": 450, "errors": 1, "error_rate_percent": 0.22, "p99_latency_ms": 25},
}

decide(given) := d if {
	d := rollout.decision with input as given with data.limits as limits
}

decide_with(given, custom) := d if {
	d := rollout.decision with input as given with data.limits as custom
}

# healthy with some canary (c) and stable (s) figures replaced.
with_figures(c, s) := object.union(healthy, {
	"canary": object.union(healthy.canary, c),
	"stable": object.union(healthy.stable, s),
})

with_limits(values) := {"rollout": object.union(limits.rollout, values)}

continue_line := "canary within every limit: error rate 0.00% (stable 0.22%), P99 latency 25.00 ms (stable 25.00 ms), on 50 canary and 450 stable requests: continue"

rollback_failed := "analysis failed, 0 failed before it, failure_limit 0: roll back"

# --- continue ------------------------------------------------------------

test_healthy_canary_continues_with_a_summary if {
	d := decide(healthy)
	d.allow == true
	d.domain == "rollout"
	d.reasons == [continue_line]
	d.checked.outcome == "continue"
	d.checked.failed == false
	d.checked.inconclusive == false
}

test_checked_holds_every_figure_the_limits_and_the_outcome if {
	d := decide(healthy)
	d.checked == {
		"outcome": "continue",
		"failed": false,
		"inconclusive": false,
		"step": 2,
		"weight": 10,
		"window_seconds": 30,
		"analyses_failed": 0,
		"analyses_inconclusive": 0,
		"canary": {"requests": 50, "errors": 0, "error_rate_percent": 0, "p99_latency_ms": 25, "p99_above_ms": null},
		"stable": {"requests": 450, "errors": 1, "error_rate_percent": 0.22, "p99_latency_ms": 25, "p99_above_ms": null},
		"limits": limits.rollout,
	}
}

test_figures_exactly_at_each_limit_continue if {
	d := decide(with_figures(
		{"requests": 20, "error_rate_percent": 1.22, "p99_latency_ms": 50},
		{"requests": 20, "error_rate_percent": 0.22, "p99_latency_ms": 25},
	))
	d.checked.outcome == "continue"
	at_max := decide(with_figures(
		{"error_rate_percent": 5, "p99_latency_ms": 1000},
		{"error_rate_percent": 4.5, "p99_latency_ms": 500},
	))
	at_max.checked.outcome == "continue"
}

test_sums_and_products_at_a_limit_agree_with_exact_decimals if {
	# On the OPA server, 1.1 + 2.6 is 3.6999999999999999998 and 1.3 * 3 is
	# 3.8999999999999999999: compared as computed, 3.7 and 3.9 would fail
	# there and pass in the WASM build. Both are exactly at their limit.
	d := decide_with(
		with_figures({"error_rate_percent": 3.7, "p99_latency_ms": 3.9}, {"error_rate_percent": 1.1, "p99_latency_ms": 3}),
		with_limits({"max_error_rate_increase_points": 2.6, "max_p99_ratio": 1.3}),
	)
	d.checked.outcome == "continue"
	above := decide_with(
		with_figures({"error_rate_percent": 3.700001, "p99_latency_ms": 3.900001}, {"error_rate_percent": 1.1, "p99_latency_ms": 3}),
		with_limits({"max_error_rate_increase_points": 2.6, "max_p99_ratio": 1.3}),
	)
	above.checked.outcome == "rollback"
	count(above.reasons) == 3
}

test_stable_p99_of_zero_gives_the_ratio_no_scale if {
	d := decide(with_figures({"p99_latency_ms": 5}, {"p99_latency_ms": 0}))
	d.checked.outcome == "continue"
	d.reasons == ["canary within every limit: error rate 0.00% (stable 0.22%), P99 latency 5.00 ms (stable 0.00 ms), on 50 canary and 450 stable requests: continue"]
}

test_stable_beyond_the_buckets_bounds_the_ratio_from_below if {
	d := decide(with_figures({"p99_latency_ms": 900}, {"p99_latency_ms": null, "p99_above_ms": 500}))
	d.checked.outcome == "continue"
	d.reasons == ["canary within every limit: error rate 0.00% (stable 0.22%), P99 latency 900.00 ms (stable above 500.00 ms), on 50 canary and 450 stable requests: continue"]
}

# --- failed: each check ----------------------------------------------------

test_canary_error_rate_above_the_maximum_rolls_back if {
	d := decide(with_figures({"error_rate_percent": 5.01}, {"error_rate_percent": 5}))
	d.allow == false
	d.checked.outcome == "rollback"
	d.checked.failed == true
	d.checked.inconclusive == false
	d.reasons == ["analysis failed, 0 failed before it, failure_limit 0: roll back", "canary error rate 5.01% exceeds the maximum 5.00%"]
}

test_canary_error_rate_above_stables_plus_points_rolls_back if {
	d := decide(with_figures({"error_rate_percent": 1.23}, {}))
	d.checked.outcome == "rollback"
	d.reasons == [rollback_failed, "canary error rate 1.23% exceeds stable's 0.22% by more than 1.00 points"]
}

test_canary_p99_above_the_maximum_rolls_back if {
	d := decide(with_figures({"p99_latency_ms": 1000.5}, {"p99_latency_ms": 900}))
	d.checked.outcome == "rollback"
	d.reasons == [rollback_failed, "canary P99 latency 1000.50 ms exceeds the maximum 1000.00 ms"]
}

test_canary_p99_beyond_the_buckets_rolls_back if {
	d := decide(with_figures({"p99_latency_ms": null, "p99_above_ms": 10000}, {}))
	d.checked.outcome == "rollback"
	d.checked.canary.p99_above_ms == 10000
	d.reasons == [rollback_failed, "canary P99 latency is above 10000.00 ms (beyond the highest latency bucket), its bound cannot be shown"]
}

test_canary_p99_above_ratio_times_stables_rolls_back if {
	d := decide(with_figures({"p99_latency_ms": 50.01}, {}))
	d.checked.outcome == "rollback"
	d.reasons == [rollback_failed, "canary P99 latency 50.01 ms exceeds 2.00 times stable's 25.00 ms"]
}

test_every_failed_check_is_a_reason if {
	d := decide(with_figures({"error_rate_percent": 60, "p99_latency_ms": 2500}, {}))
	d.reasons == [
		rollback_failed,
		"canary P99 latency 2500.00 ms exceeds 2.00 times stable's 25.00 ms",
		"canary P99 latency 2500.00 ms exceeds the maximum 1000.00 ms",
		"canary error rate 60.00% exceeds stable's 0.22% by more than 1.00 points",
		"canary error rate 60.00% exceeds the maximum 5.00%",
	]
}

# --- failed: hold within failure_limit -----------------------------------

test_failed_analysis_holds_within_the_failure_limit if {
	d := decide_with(with_figures({"error_rate_percent": 9}, {}), with_limits({"failure_limit": 2}))
	d.allow == false
	d.checked.outcome == "hold"
	d.checked.failed == true
	d.reasons == [
		"analysis failed, 0 failed before it, failure_limit 2: hold and analyse again",
		"canary error rate 9.00% exceeds stable's 0.22% by more than 1.00 points",
		"canary error rate 9.00% exceeds the maximum 5.00%",
	]
}

test_failed_analysis_rolls_back_once_the_failure_limit_is_used if {
	given := object.union(with_figures({"error_rate_percent": 9}, {}), {"analyses_failed": 2})
	held := decide_with(object.union(given, {"analyses_failed": 1}), with_limits({"failure_limit": 2}))
	held.checked.outcome == "hold"
	d := decide_with(given, with_limits({"failure_limit": 2}))
	d.checked.outcome == "rollback"
	"analysis failed, 2 failed before it, failure_limit 2: roll back" in d.reasons
}

test_failed_beats_inconclusive if {
	# Stable has too little traffic, but the canary fails an absolute limit on its own.
	d := decide(with_figures({"error_rate_percent": 50}, {"requests": 3}))
	d.checked.outcome == "rollback"
	d.checked.failed == true
	d.checked.inconclusive == false
	d.reasons == [
		rollback_failed,
		"canary error rate 50.00% exceeds the maximum 5.00%",
		"too little traffic: stable served 3 requests in the 30s window, at least 20 required",
	]
}

test_failed_with_an_unknown_count_or_tolerance_rolls_back_naming_it if {
	bad := with_figures({"error_rate_percent": 9}, {})
	tolerant := with_limits({"failure_limit": 5})
	no_count := decide_with(object.remove(bad, ["analyses_failed"]), tolerant)
	no_count.checked.outcome == "rollback"
	"input field \"analyses_failed\" is missing" in no_count.reasons
	"analysis failed, unknown failed before it, failure_limit 5: roll back" in no_count.reasons
	text_count := decide_with(object.union(bad, {"analyses_failed": "1"}), tolerant)
	"input field \"analyses_failed\" must be a number, got \"1\"" in text_count.reasons
	negative := decide_with(object.union(bad, {"analyses_failed": -1}), tolerant)
	negative.checked.outcome == "rollback"
	"input field \"analyses_failed\" must not be negative, got -1" in negative.reasons
	no_limit := decide_with(bad, {"rollout": object.remove(limits.rollout, ["failure_limit"])})
	no_limit.checked.outcome == "rollback"
	"policy data \"limits.rollout.failure_limit\" is missing" in no_limit.reasons
}

# --- inconclusive --------------------------------------------------------

test_too_little_canary_traffic_holds_with_its_reason if {
	d := decide(with_figures({"requests": 19}, {}))
	d.allow == false
	d.checked.outcome == "hold"
	d.checked.inconclusive == true
	d.checked.failed == false
	d.reasons == [
		"analysis inconclusive, 0 inconclusive before it, inconclusive_limit 2: hold and analyse again",
		"too little traffic: canary served 19 requests in the 30s window, at least 20 required",
	]
}

test_too_little_traffic_does_not_judge_the_figures if {
	d := decide(with_figures({"requests": 1, "error_rate_percent": 100, "p99_latency_ms": 9999}, {}))
	d.checked.outcome == "hold"
	d.reasons == [
		"analysis inconclusive, 0 inconclusive before it, inconclusive_limit 2: hold and analyse again",
		"too little traffic: canary served 1 request in the 30s window, at least 20 required",
	]
}

test_too_little_stable_traffic_holds if {
	d := decide(object.remove(with_figures({}, {"requests": 0}), ["window_seconds"]))
	d.checked.outcome == "hold"
	"too little traffic: stable served 0 requests in the window, at least 20 required" in d.reasons
}

test_inconclusive_rolls_back_once_the_inconclusive_limit_is_used if {
	given := object.union(with_figures({"requests": 5}, {}), {"analyses_inconclusive": 2})
	d := decide(given)
	d.checked.outcome == "rollback"
	d.checked.inconclusive == true
	d.reasons == [
		"analysis inconclusive, 2 inconclusive before it, inconclusive_limit 2: roll back",
		"too little traffic: canary served 5 requests in the 30s window, at least 20 required",
	]
	held := decide(object.union(given, {"analyses_inconclusive": 1}))
	held.checked.outcome == "hold"
}

test_inconclusive_limit_zero_rolls_back_at_once if {
	d := decide_with(with_figures({"requests": 5}, {}), with_limits({"inconclusive_limit": 0}))
	d.checked.outcome == "rollback"
}

test_inconclusive_with_an_unknown_count_or_tolerance_rolls_back_naming_it if {
	thin := with_figures({"requests": 5}, {})
	no_count := decide(object.union(thin, {"analyses_inconclusive": null}))
	no_count.checked.outcome == "rollback"
	"input field \"analyses_inconclusive\" is missing" in no_count.reasons
	no_limit := decide_with(thin, with_limits({"inconclusive_limit": "2"}))
	no_limit.checked.outcome == "rollback"
	"policy data \"limits.rollout.inconclusive_limit\" must be a number, got \"2\"" in no_limit.reasons
	"analysis inconclusive, 0 inconclusive before it, inconclusive_limit unknown: roll back" in no_limit.reasons
}

test_unknown_figures_are_inconclusive_with_their_reason if {
	d := decide(with_figures(
		{"error_rate_percent": null, "p99_latency_ms": null, "unknown": "counters reset"},
		{"error_rate_percent": null, "p99_latency_ms": null},
	))
	d.checked.outcome == "hold"
	d.reasons == [
		"analysis inconclusive, 0 inconclusive before it, inconclusive_limit 2: hold and analyse again",
		"canary P99 latency is unknown: counters reset",
		"canary error rate is unknown: counters reset",
		"stable P99 latency is unknown",
		"stable error rate is unknown",
	]
}

test_unknown_or_malformed_request_counts_are_inconclusive if {
	d := decide(with_figures({"requests": null, "unknown": "nginx restarted"}, {"requests": "450"}))
	d.checked.outcome == "hold"
	d.reasons == [
		"analysis inconclusive, 0 inconclusive before it, inconclusive_limit 2: hold and analyse again",
		"canary request count is unknown: nginx restarted",
		"input field \"stable.requests\" must be a number, got \"450\"",
	]
}

test_a_figure_of_the_wrong_type_is_named if {
	d := decide(with_figures({"error_rate_percent": true}, {"p99_latency_ms": [1]}))
	d.checked.outcome == "hold"
	"input field \"canary.error_rate_percent\" must be a number, got boolean" in d.reasons
	"input field \"stable.p99_latency_ms\" must be a number, got array" in d.reasons
}

test_stable_beyond_the_buckets_with_a_slow_canary_is_inconclusive if {
	d := decide_with(
		with_figures({"p99_latency_ms": 900}, {"p99_latency_ms": null, "p99_above_ms": 500}),
		with_limits({"max_p99_ratio": 1.5}),
	)
	d.checked.outcome == "hold"
	"canary P99 latency 900.00 ms cannot be shown within 1.50 times stable's, which is above 500.00 ms (beyond the highest latency bucket)" in d.reasons
}

test_missing_or_malformed_limits_are_inconclusive if {
	none := decide_with(healthy, {})
	none.allow == false
	none.checked.outcome == "rollback"
	"policy data \"limits.rollout.min_requests\" is missing" in none.reasons
	partial := decide_with(healthy, with_limits({"max_error_rate_percent": null, "max_p99_ratio": "2"}))
	partial.checked.outcome == "hold"
	partial.reasons == [
		"analysis inconclusive, 0 inconclusive before it, inconclusive_limit 2: hold and analyse again",
		"policy data \"limits.rollout.max_error_rate_percent\" is missing",
		"policy data \"limits.rollout.max_p99_ratio\" must be a number, got \"2\"",
	]
	latency := decide_with(healthy, with_limits({"max_p99_latency_ms": null, "max_error_rate_increase_points": null}))
	"policy data \"limits.rollout.max_p99_latency_ms\" is missing" in latency.reasons
	"policy data \"limits.rollout.max_error_rate_increase_points\" is missing" in latency.reasons
}

test_an_input_that_is_not_an_object_is_inconclusive_and_rolls_back if {
	every given in [null, [], "canary", {}] {
		d := decide(given)
		d.allow == false
		d.checked.outcome == "rollback"
		d.checked.inconclusive == true
		"canary request count is unknown" in d.reasons
		"stable request count is unknown" in d.reasons
		"input field \"analyses_inconclusive\" is missing" in d.reasons
	}
}

test_a_variant_that_is_not_an_object_counts_as_unknown if {
	d := decide(object.union(healthy, {"canary": 5}))
	d.checked.outcome == "hold"
	d.checked.canary == {"requests": null, "errors": null, "error_rate_percent": null, "p99_latency_ms": null, "p99_above_ms": null}
	"canary request count is unknown" in d.reasons
}

# --- decision shape --------------------------------------------------------

test_every_decision_has_the_four_keys_and_a_reason if {
	every given in [
		healthy, {}, with_figures({"requests": 1}, {}), with_figures({"error_rate_percent": 99}, {}),
		with_figures({"p99_latency_ms": null}, {}),
	] {
		d := decide(given)
		object.keys(d) == {"allow", "reasons", "domain", "checked"}
		count(d.reasons) > 0
		continues := d.checked.outcome == "continue"
		d.allow == continues
	}
}

# --- the P99 ratio's floor -------------------------------------------------

test_p99_ratio_is_not_judged_at_or_below_the_floor if {
	d := decide_with(with_figures({"p99_latency_ms": 5}, {"p99_latency_ms": 1}), with_limits({"p99_ratio_floor_ms": 50}))
	d.checked.outcome == "continue"
}

test_p99_ratio_is_judged_above_the_floor if {
	d := decide_with(with_figures({"p99_latency_ms": 250}, {"p99_latency_ms": 5}), with_limits({"p99_ratio_floor_ms": 50}))
	d.checked.outcome == "rollback"
	d.reasons[_] == "canary P99 latency 250.00 ms exceeds 2.00 times stable's 5.00 ms"
}

test_stable_beyond_the_buckets_is_a_gap_only_above_the_floor if {
	given := with_figures({"p99_latency_ms": 25}, {"p99_latency_ms": null, "p99_above_ms": 10})
	decide_with(given, with_limits({"p99_ratio_floor_ms": 50})).checked.inconclusive == false
	decide_with(given, with_limits({"p99_ratio_floor_ms": 0})).checked.inconclusive == true
}

test_a_missing_ratio_floor_is_inconclusive if {
	d := decide_with(healthy, {"rollout": object.remove(limits.rollout, ["p99_ratio_floor_ms"])})
	d.checked.inconclusive == true
	d.reasons[_] == "policy data \"limits.rollout.p99_ratio_floor_ms\" is missing"
}
