# Message building shared by the SwiftDeploy policies.
#
# Reason strings must be byte-for-byte the same from the OPA server (Go) and
# from the in-process WASM build (opa-wasm in JavaScript). sprintf is not a
# native WASM built-in: opa-wasm hands it to sprintf-js, whose "%.2f" rounds
# exact binary ties up (0.125 -> "0.13") where Go rounds them to even
# ("0.12"), and Go's "%.2f" refuses integers outright. Float arithmetic is no
# better: Go computes on 64-bit binary mantissas, the WASM runtime on exact
# decimals. So numbers are rendered here from their decimal text
# (json.marshal keeps the JSON literal in both engines) with string
# built-ins only: fixed(x, d) rounds half away from zero to d decimals.
package swiftdeploy.text

# Zeros available for padding; a number whose exponent needs more is shown
# as its JSON literal (1e64 GB of disk is not a case worth more code).
zero_run := "0000000000000000000000000000000000000000000000000000000000000000"

max_padding := count(zero_run)

next_digit := {
	"0": "1", "1": "2", "2": "3", "3": "4", "4": "5",
	"5": "6", "6": "7", "7": "8", "8": "9",
}

# zeros(n) is n "0" characters, n at most max_padding ("" when n <= 0):
# a slice of a constant, far cheaper in WASM than building a list.
zeros(n) := substring(zero_run, 0, n) if n > 0

else := ""

# parts(x) is the decimal text of number x split into its sign, its digits
# without the point, and the number of digits before the point (negative or
# beyond the digits when an exponent moves it).
parts(x) := {"negative": negative, "digits": digits, "point": point} if {
	literal := lower(json.marshal(x))
	negative := startswith(literal, "-")
	halves := split(trim_prefix(literal, "-"), "e")
	mantissa := split(halves[0], ".")
	digits := concat("", mantissa)
	point := count(mantissa[0]) + exponent(halves)
}

exponent(halves) := to_number(trim_prefix(halves[1], "+")) if count(halves) == 2

else := 0

# increment(s) adds one to the unsigned decimal digit string s.
increment(s) := concat("", [carry(stem), replace(substring(s, count(stem), -1), "9", "0")]) if {
	stem := trim_right(s, "9")
}

carry("") := "1"

carry(stem) := concat("", [substring(stem, 0, count(stem) - 1), next_digit[substring(stem, count(stem) - 1, 1)]]) if {
	stem != ""
}

# rounded(s, up) is s, plus one when up is true.
rounded(s, true) := increment(s)

rounded(s, false) := s

# rounds_up(k, next) tells whether the first dropped digit carries; with
# k < 0 the value is below half a unit of the last decimal kept.
rounds_up(k, next) if {
	k >= 0
	next >= "5"
} else := false

# point_at(body, d) puts a decimal point before the last d digits of body.
point_at(body, 0) := body

point_at(body, d) := concat("", [substring(body, 0, count(body) - d), ".", substring(body, count(body) - d, d)]) if {
	d > 0
}

# fixed(x, d) is number x with exactly d decimals, rounded half away from
# zero, without a minus sign on a result of zero. Plain non-negative
# literals with at most d decimals (nearly every value) are only padded;
# the rest go through the digit arithmetic below.
fixed(x, d) := fixed_literal(json.marshal(x), x, d)

fixed_literal(literal, x, d) := padded(split(literal, "."), d) if plain(literal)

else := fixed_parts(parts(x), d, x)

# plain(literal): no sign and no exponent.
plain(literal) if {
	not startswith(literal, "-")
	not contains(literal, "e")
	not contains(literal, "E")
}

# padded(halves, d): the literal split at its point, given exactly d
# decimals by padding; undefined when it has more than d.
padded([whole], 0) := whole

padded([whole], d) := concat("", [whole, ".", zeros(d)]) if d > 0

padded([whole, decimals], d) := concat("", [whole, ".", decimals, zeros(d - count(decimals))]) if {
	count(decimals) <= d
}

# A number whose exponent would need more than max_padding zeros (counting
# the rounding digit) is shown as its JSON literal.
fixed_parts(p, d, x) := json.marshal(x) if {
	((p.point + d) + 1) - count(p.digits) > max_padding
} else := s if {
	k := p.point + d
	padded := concat("", [p.digits, zeros((k + 1) - count(p.digits))])
	head := substring(padded, 0, max([k, 0]))
	next := substring(padded, max([k, 0]), 1)
	scaled := rounded(head, rounds_up(k, next))
	trimmed := trim_left(scaled, "0")
	body := concat("", [zeros((d + 1) - count(trimmed)), trimmed])
	s := concat("", [sign(p.negative, trimmed), point_at(body, d)])
}

sign(negative, magnitude) := "-" if {
	negative
	magnitude != ""
}

else := ""

# integral(x) holds when number x has no fractional part.
integral(x) if {
	p := parts(x)
	p.point >= count(p.digits)
}

integral(x) if {
	p := parts(x)
	p.point < count(p.digits)
	trim_right(substring(p.digits, max([p.point, 0]), -1), "0") == ""
}

# amount(x) shows a count: no decimals when x is whole, two otherwise.
amount(x) := literal if {
	literal := json.marshal(x)
	plain(literal)
	not contains(literal, ".")
} else := fixed(x, 0) if integral(x)

else := fixed(x, 2)

# quote(s) wraps s in double quotes.
quote(s) := concat("", ["\"", s, "\""])

# describe(v) names a value in a message: strings quoted, others by type.
describe(v) := quote(v) if is_string(v)

else := type_name(v)

missing(field) := concat("", ["input field ", quote(field), " is missing"])

not_a_number(field, v) := concat("", ["input field ", quote(field), " must be a number, got ", describe(v)])

limit_missing(path) := concat("", ["policy data ", quote(path), " is missing"])

limit_not_a_number(path, v) := concat("", ["policy data ", quote(path), " must be a number, got ", describe(v)])

# below/above phrase a failed threshold: `disk free 8.20 GB is below the
# minimum 10.00 GB`, `error rate 56.45% exceeds the maximum 1.00%`.
below(label, value, minimum, unit) := concat("", [
	label, " ", fixed(value, 2), unit,
	" is below the minimum ", fixed(minimum, 2), unit,
])

above(label, value, maximum, unit) := concat("", [
	label, " ", fixed(value, 2), unit,
	" exceeds the maximum ", fixed(maximum, 2), unit,
])
