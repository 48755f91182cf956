# Pre-deploy gate: is this host healthy enough to start the stack?
#
# Input: {"disk_free_gb": number, "cpu_load_1m": number, "mem_free_percent": number}
# Data:  data.limits.infrastructure.{min_disk_free_gb, max_cpu_load, min_mem_free_percent},
#        rendered from the manifest's policy_limits; no threshold is written here.
#
# The CLI reads `decision` and never decides itself. A value that is missing or
# not a number denies with a reason naming it: the policy never allows what it
# could not check.
package swiftdeploy.infrastructure

import data.swiftdeploy.text

limits := data.limits.infrastructure

fields := ["disk_free_gb", "cpu_load_1m", "mem_free_percent"]

limit_names := ["min_disk_free_gb", "max_cpu_load", "min_mem_free_percent"]

default allow := false

default disk_ok := false

default cpu_ok := false

default mem_ok := false

allow if {
	disk_ok
	cpu_ok
	mem_ok
}

disk_ok if {
	usable_numbers("disk_free_gb", "min_disk_free_gb")
	input.disk_free_gb >= limits.min_disk_free_gb
}

cpu_ok if {
	usable_numbers("cpu_load_1m", "max_cpu_load")
	input.cpu_load_1m <= limits.max_cpu_load
}

mem_ok if {
	usable_numbers("mem_free_percent", "min_mem_free_percent")
	input.mem_free_percent >= limits.min_mem_free_percent
}

usable_numbers(field, limit) if {
	is_number(input[field])
	is_number(limits[limit])
}

# Reasons exist only on a denial: each rule starts with `not allow`, which
# also skips them all cheaply on the allowed path.
reasons contains text.below("disk free", input.disk_free_gb, limits.min_disk_free_gb, " GB") if {
	not allow
	usable_numbers("disk_free_gb", "min_disk_free_gb")
	not disk_ok
}

reasons contains text.above("1-minute CPU load", input.cpu_load_1m, limits.max_cpu_load, "") if {
	not allow
	usable_numbers("cpu_load_1m", "max_cpu_load")
	not cpu_ok
}

reasons contains text.below("free memory", input.mem_free_percent, limits.min_mem_free_percent, "%") if {
	not allow
	usable_numbers("mem_free_percent", "min_mem_free_percent")
	not mem_ok
}

reasons contains field_problem(field) if {
	not allow
	some field in fields
	not number_input(field)
}

reasons contains limit_problem(name) if {
	not allow
	some name in limit_names
	not number_limit(name)
}

# field_problem(field) says why input[field] cannot be compared.
field_problem(field) := text.missing(field) if {
	not input_given(field)
} else := text.not_a_number(field, input[field])

limit_problem(name) := text.limit_missing(limit_path(name)) if {
	not limit_given(name)
} else := text.limit_not_a_number(limit_path(name), limits[name])

limit_path(name) := concat(".", ["limits", "infrastructure", name])

input_given(field) if input[field] != null

limit_given(name) if limits[name] != null

# Helpers rather than `not is_number(input[field])` inline: OPA evaluates a
# call's arguments outside the negation, so an absent key (or no input at
# all) would make the expression undefined instead of true.
number_input(field) if is_number(input[field])

number_limit(name) if is_number(limits[name])

# observed(field) is the input value as given, null when absent.
observed(field) := value if {
	value := input[field]
} else := null

# `checked` holds each figure the policy judged, as given (null when
# absent); the limits are the data document's.
decision := {
	"allow": allow,
	"reasons": sort(reasons),
	"domain": "infrastructure",
	"checked": {
		"disk_free_gb": observed("disk_free_gb"),
		"cpu_load_1m": observed("cpu_load_1m"),
		"mem_free_percent": observed("mem_free_percent"),
	},
}
