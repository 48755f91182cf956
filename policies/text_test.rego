package swiftdeploy.text_test

import data.swiftdeploy.text

# fixed(x, 2) is the "%.2f" of every reason, computed on the decimal text.

test_fixed_pads_integers_with_two_decimals if {
	text.fixed(10, 2) == "10.00"
	text.fixed(0, 2) == "0.00"
	text.fixed(500, 2) == "500.00"
}

test_fixed_pads_short_fractions if {
	text.fixed(8.2, 2) == "8.20"
	text.fixed(612.3, 2) == "612.30"
	text.fixed(56.45, 2) == "56.45"
	text.fixed(0.5, 2) == "0.50"
}

test_fixed_keeps_literal_trailing_zeros_out if {
	text.fixed(8.0, 2) == "8.00"
	text.fixed(1.000, 2) == "1.00"
}

test_fixed_rounds_half_away_from_zero_on_the_decimal_text if {
	text.fixed(0.125, 2) == "0.13"
	text.fixed(1.005, 2) == "1.01"
	text.fixed(0.0049, 2) == "0.00"
	text.fixed(0.005, 2) == "0.01"
	text.fixed(123456789.125, 2) == "123456789.13"
}

test_fixed_carries_through_nines if {
	text.fixed(9.995, 2) == "10.00"
	text.fixed(99.995, 2) == "100.00"
	text.fixed(999.999, 2) == "1000.00"
	text.fixed(0.995, 2) == "1.00"
}

test_fixed_shows_negative_numbers_and_no_negative_zero if {
	text.fixed(-1.5, 2) == "-1.50"
	text.fixed(-0.004, 2) == "0.00"
	text.fixed(-0.005, 2) == "-0.01"
}

test_fixed_expands_exponents if {
	text.fixed(1e21, 2) == "1000000000000000000000.00"
	text.fixed(1.5e+3, 2) == "1500.00"
	text.fixed(2.5E-1, 2) == "0.25"
	text.fixed(1.5e-7, 2) == "0.00"
	text.fixed(5e-3, 2) == "0.01"
	text.fixed(1e-999, 2) == "0.00"
}

test_fixed_shows_huge_values_in_full if {
	text.fixed(1e9, 2) == "1000000000.00"
	text.fixed(1000000000, 2) == "1000000000.00"
	text.fixed(123456789012345678901234567890, 2) == "123456789012345678901234567890.00"
}

test_fixed_falls_back_to_the_literal_beyond_the_padding_limit if {
	text.fixed(1e500, 2) == "1e500"
	text.fixed(1e63, 2) == "1e63"
	text.fixed(1e62, 2) == "1e62"
	text.fixed(1e61, 2) == concat("", ["1", substring(text.zero_run, 0, 61), ".00"])
	text.fixed(1.5e61, 2) == concat("", ["15", substring(text.zero_run, 0, 60), ".00"])
}

test_zero_run_is_only_zeros if {
	trim(text.zero_run, "0") == ""
	text.max_padding == 64
}

test_fixed_with_no_decimals_rounds_to_a_whole_number if {
	text.fixed(19.5, 0) == "20"
	text.fixed(19.49, 0) == "19"
	text.fixed(0.4, 0) == "0"
	text.fixed(20, 0) == "20"
}

test_amount_shows_whole_counts_without_decimals if {
	text.amount(5) == "5"
	text.amount(20.0) == "20"
	text.amount(1e3) == "1000"
	text.amount(1.25e1) == "12.50"
	text.amount(0) == "0"
}

test_amount_shows_fractional_counts_with_two_decimals if {
	text.amount(19.5) == "19.50"
	text.amount(0.001) == "0.00"
}

test_increment_carries if {
	text.increment("129") == "130"
	text.increment("999") == "1000"
	text.increment("") == "1"
	text.increment("0") == "1"
}

test_zeros if {
	text.zeros(3) == "000"
	text.zeros(0) == ""
	text.zeros(-2) == ""
}

test_describe_quotes_strings_and_names_other_types if {
	text.describe("blue") == "\"blue\""
	text.describe(7) == "number"
	text.describe(null) == "null"
	text.describe(true) == "boolean"
	text.describe([1]) == "array"
	text.describe({"a": 1}) == "object"
}

test_messages if {
	text.missing("disk_free_gb") == "input field \"disk_free_gb\" is missing"
	text.not_a_number("cpu_load_1m", "high") == "input field \"cpu_load_1m\" must be a number, got \"high\""
	text.limit_missing("limits.canary.min_requests") == "policy data \"limits.canary.min_requests\" is missing"
	text.limit_not_a_number("limits.canary.min_requests", "20") == "policy data \"limits.canary.min_requests\" must be a number, got \"20\""
	text.below("disk free", 8.2, 10, " GB") == "disk free 8.20 GB is below the minimum 10.00 GB"
	text.above("error rate", 56.45, 1.0, "%") == "error rate 56.45% exceeds the maximum 1.00%"
}

test_fast_paths_agree_with_the_digit_arithmetic if {
	every x in [0, 1, 10, 20.0, 8.2, 612.3, 56.45, 0.5, 0.01, 100, 999.99, 123456789, 1000000000, 19.5, 0.125] {
		every d in [0, 2] {
			text.fixed(x, d) == text.fixed_parts(text.parts(x), d, x)
		}
	}
}

test_amount_fast_path_agrees_with_fixed if {
	every x in [0, 1, 5, 20, 250, 1000000000] {
		text.amount(x) == text.fixed(x, 0)
	}
}
