package swiftdeploy.infrastructure_test

import data.swiftdeploy.infrastructure

# Limits as `init` renders them from the shipped manifest.
limits := {"infrastructure": {"min_disk_free_gb": 10, "max_cpu_load": 8.0, "min_mem_free_percent": 10}}

healthy := {"disk_free_gb": 120.5, "cpu_load_1m": 0.42, "mem_free_percent": 63.2}

decide(given) := d if {
	d := infrastructure.decision with input as given with data.limits as limits
}

decide_with(given, custom) := d if {
	d := infrastructure.decision with input as given with data.limits as custom
}

# --- allowed ---------------------------------------------------------------

test_healthy_host_is_allowed_with_no_reasons if {
	d := decide(healthy)
	d.allow == true
	d.reasons == []
	d.domain == "infrastructure"
}

test_values_exactly_at_each_threshold_are_allowed if {
	d := decide({"disk_free_gb": 10, "cpu_load_1m": 8, "mem_free_percent": 10})
	d.allow == true
	d.reasons == []
}

test_threshold_written_as_float_equals_integer_input if {
	d := decide({"disk_free_gb": 10.0, "cpu_load_1m": 8.00, "mem_free_percent": 10.000})
	d.allow == true
}

test_values_just_inside_each_threshold_are_allowed if {
	d := decide({"disk_free_gb": 10.01, "cpu_load_1m": 7.99, "mem_free_percent": 10.01})
	d.allow == true
}

test_zero_cpu_load_is_allowed if {
	d := decide(object.union(healthy, {"cpu_load_1m": 0}))
	d.allow == true
}

test_huge_free_space_and_memory_are_allowed if {
	d := decide({"disk_free_gb": 1e9, "cpu_load_1m": 1, "mem_free_percent": 100})
	d.allow == true
}

# --- each threshold --------------------------------------------------------

test_disk_just_below_minimum_is_denied if {
	d := decide(object.union(healthy, {"disk_free_gb": 9.99}))
	d.allow == false
	d.reasons == ["disk free 9.99 GB is below the minimum 10.00 GB"]
	d.checked.disk_free_gb == 9.99
}

test_disk_below_minimum_by_less_than_rounding_shows_both_values if {
	d := decide(object.union(healthy, {"disk_free_gb": 9.995}))
	d.reasons == ["disk free 10.00 GB is below the minimum 10.00 GB"]
}

test_cpu_load_just_above_maximum_is_denied if {
	d := decide(object.union(healthy, {"cpu_load_1m": 8.01}))
	d.allow == false
	d.reasons == ["1-minute CPU load 8.01 exceeds the maximum 8.00"]
	d.checked.cpu_load_1m == 8.01
}

test_memory_just_below_minimum_is_denied if {
	d := decide(object.union(healthy, {"mem_free_percent": 9.99}))
	d.allow == false
	d.reasons == ["free memory 9.99% is below the minimum 10.00%"]
}

test_seed_example_reports_every_failure_sorted if {
	d := decide({"disk_free_gb": 8.2, "cpu_load_1m": 9.1, "mem_free_percent": 5})
	d.allow == false
	d.reasons == [
		"1-minute CPU load 9.10 exceeds the maximum 8.00",
		"disk free 8.20 GB is below the minimum 10.00 GB",
		"free memory 5.00% is below the minimum 10.00%",
	]
}

test_zero_disk_and_memory_are_denied if {
	d := decide({"disk_free_gb": 0, "cpu_load_1m": 0, "mem_free_percent": 0})
	d.allow == false
	d.reasons == [
		"disk free 0.00 GB is below the minimum 10.00 GB",
		"free memory 0.00% is below the minimum 10.00%",
	]
}

test_huge_cpu_load_is_denied if {
	d := decide(object.union(healthy, {"cpu_load_1m": 1e9}))
	d.reasons == ["1-minute CPU load 1000000000.00 exceeds the maximum 8.00"]
}

test_negative_disk_is_denied if {
	d := decide(object.union(healthy, {"disk_free_gb": -1}))
	d.reasons == ["disk free -1.00 GB is below the minimum 10.00 GB"]
}

test_thresholds_come_from_data if {
	custom := {"infrastructure": {"min_disk_free_gb": 200, "max_cpu_load": 0.25, "min_mem_free_percent": 70}}
	d := decide_with(healthy, custom)
	d.allow == false
	d.reasons == [
		"1-minute CPU load 0.42 exceeds the maximum 0.25",
		"disk free 120.50 GB is below the minimum 200.00 GB",
		"free memory 63.20% is below the minimum 70.00%",
	]
}

# --- missing and malformed input --------------------------------------------

test_each_missing_field_is_named if {
	every field in ["disk_free_gb", "cpu_load_1m", "mem_free_percent"] {
		d := decide(object.remove(healthy, [field]))
		d.allow == false
		d.reasons == [concat("", ["input field \"", field, "\" is missing"])]
		d.checked[field] == null
	}
}

test_null_field_is_missing if {
	d := decide(object.union(healthy, {"cpu_load_1m": null}))
	d.allow == false
	d.reasons == ["input field \"cpu_load_1m\" is missing"]
}

test_wrong_types_are_named_with_the_type if {
	d := decide({"disk_free_gb": "12", "cpu_load_1m": true, "mem_free_percent": [50]})
	d.allow == false
	d.reasons == [
		"input field \"cpu_load_1m\" must be a number, got boolean",
		"input field \"disk_free_gb\" must be a number, got \"12\"",
		"input field \"mem_free_percent\" must be a number, got array",
	]
}

test_object_value_is_named_with_its_type if {
	d := decide(object.union(healthy, {"disk_free_gb": {"gb": 50}}))
	d.reasons == ["input field \"disk_free_gb\" must be a number, got object"]
}

test_empty_input_denies_naming_every_field if {
	d := decide({})
	d.allow == false
	count(d.reasons) == 3
}

test_no_input_at_all_denies_naming_every_field if {
	d := infrastructure.decision with data.limits as limits
	d.allow == false
	d.reasons == [
		"input field \"cpu_load_1m\" is missing",
		"input field \"disk_free_gb\" is missing",
		"input field \"mem_free_percent\" is missing",
	]
}

test_input_that_is_not_an_object_denies if {
	d := decide("full disk")
	d.allow == false
	count(d.reasons) == 3
}

# --- policy data -------------------------------------------------------------

test_missing_limits_deny_naming_the_data_path if {
	d := decide_with(healthy, {})
	d.allow == false
	d.reasons == [
		"policy data \"limits.infrastructure.max_cpu_load\" is missing",
		"policy data \"limits.infrastructure.min_disk_free_gb\" is missing",
		"policy data \"limits.infrastructure.min_mem_free_percent\" is missing",
	]
}

test_non_numeric_limit_denies_naming_its_type if {
	custom := {"infrastructure": {"min_disk_free_gb": "10", "max_cpu_load": 8, "min_mem_free_percent": 10}}
	d := decide_with(healthy, custom)
	d.allow == false
	d.reasons == ["policy data \"limits.infrastructure.min_disk_free_gb\" must be a number, got \"10\""]
}

# --- shape -------------------------------------------------------------------

test_checked_lists_the_judged_figures if {
	d := decide(healthy)
	d.checked == {"disk_free_gb": 120.5, "cpu_load_1m": 0.42, "mem_free_percent": 63.2}
	d2 := decide(object.remove(healthy, ["disk_free_gb"]))
	d2.checked == {"disk_free_gb": null, "cpu_load_1m": 0.42, "mem_free_percent": 63.2}
}

test_decision_has_exactly_the_four_keys if {
	d := decide(healthy)
	object.keys(d) == {"allow", "reasons", "domain", "checked"}
}
