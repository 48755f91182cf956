# Environment promotion gate (issue 15): may release N of the previous
# environment go to the next one (`swiftdeploy release promote N --to <env>`)?
#
# Data:  data.limits.promotion, rendered into the TARGET environment's
#        policy_data.json from the manifest's `environments` and `promotion`:
#        {"environment", "from", "production", "soak_seconds" (the previous
#        environment's soak), "allowed_registries": [...],
#        "freezes": [{"start", "end", "start_s", "end_s", "reason"}]}
#        (times RFC 3339 UTC as written, and as Unix seconds: opa-wasm has no
#        time parsing, so the renderer converts them).
# Input: built by cli/promotion from the source release's evidence:
#        {"now", "now_s", "release": {"number", "environment", "status",
#        "healthy_since", "healthy_since_s", "policy_bundle_hash"},
#        "source": {"current_release", "healthy"},
#        "images": [{"role", "ref", "registry", "tag", "digest"}],
#        "policy_bundle_hash"}
#
# Every rule denies with a reason naming what it found; a missing figure
# denies too (the gate fails closed). No threshold is written here.
package swiftdeploy.promotion

import data.swiftdeploy.text

default limits := {}

limits := data.limits.promotion if is_object(data.limits.promotion)

# The input as an object ({} when it is none, so every rule below can say
# what is missing).
default doc := {}

doc := input if is_object(input)

release := object.get(doc, "release", {})

source := object.get(doc, "source", {})

images := object.get(doc, "images", [])

default allow := false

allow if count(reasons) == 0

# --- the release passed the previous environment -------------------------

# The data the rules need, each of the right type: otherwise a rule could
# not fire and the gate would open.
data_types := {
	"environment": "string",
	"from": "string",
	"production": "boolean",
	"soak_seconds": "number",
	"allowed_registries": "array",
	"freezes": "array",
}

reasons contains concat("", ["policy data ", text.quote(concat(".", ["limits", "promotion", key])), " must be a ", kind, ", got ", text.describe(object.get(limits, key, null))]) if {
	some key, kind in data_types
	type_name(object.get(limits, key, null)) != kind
}

reasons contains concat("", ["policy data ", text.quote(concat("", ["limits.promotion.freezes[", format_int(i, 10), "]"])), " must hold start, end, start_s, end_s and reason"]) if {
	some i, freeze in limits.freezes
	not well_formed(freeze)
}

well_formed(freeze) if {
	is_string(freeze.start)
	is_string(freeze.end)
	is_number(freeze.start_s)
	is_number(freeze.end_s)
	is_string(freeze.reason)
}

reasons contains concat("", [release_name, " was made in ", text.describe(given(release, "environment")), ", not in ", text.quote(limits.from), ": promote from the environment before ", text.quote(limits.environment)]) if {
	given(release, "environment") != limits.from
}

reasons contains concat("", [release_name, " did not pass ", text.quote(limits.from), ": its status is ", text.describe(given(release, "status")), ", only a good release is promoted"]) if {
	given(release, "status") != "good"
}

reasons contains concat("", [release_name, " no longer runs in ", text.quote(limits.from), " (", current_name, " does): promote the release that soaked there"]) if {
	given(source, "current_release") != given(release, "number")
}

reasons contains concat("", [text.quote(limits.from), " is not healthy now: a release is promoted only from a healthy stack"]) if {
	given(source, "healthy") != true
}

# --- it stayed healthy there for the soak time ---------------------------

# Whole seconds since the release was recorded healthy; null when unknown.
default soaked_seconds := null

soaked_seconds := input.now_s - release.healthy_since_s if {
	is_number(input.now_s)
	is_number(release.healthy_since_s)
}

reasons contains concat("", [release_name, " has run healthy in ", text.quote(limits.from), " for ", seconds(soaked_seconds), ", less than its soak time of ", seconds(limits.soak_seconds), " (", seconds(limits.soak_seconds - soaked_seconds), " to go)"]) if {
	is_number(soaked_seconds)
	soaked_seconds < limits.soak_seconds
}

reasons contains "the soak time cannot be judged: input \"now_s\" and \"release.healthy_since_s\" must be numbers" if {
	soaked_seconds == null
}

# --- the images ----------------------------------------------------------

reasons contains concat("", ["image ", text.describe(image.role), " is ", text.describe(image.ref), ": ", text.quote(limits.environment), " is production, where no image may be :latest"]) if {
	limits.production == true
	some image in images
	latest(image)
}

reasons contains concat("", ["image ", text.describe(image.role), " (", text.describe(image.ref), ") is not pinned by digest: ", text.quote(limits.environment), " is production, where every image runs by its sha256 digest"]) if {
	limits.production == true
	some image in images
	not pinned(image)
}

reasons contains concat("", ["image ", text.describe(image.role), " (", text.describe(image.ref), ") comes from registry ", text.describe(object.get(image, "registry", null)), ", not one of the allowed: ", concat(", ", limits.allowed_registries)]) if {
	some image in images
	not allowed_registry(image)
}

reasons contains "input \"images\" is empty: a promotion names every image it deploys" if {
	count(images) == 0
}

reasons contains "input \"images\" must be a list of images, each with a role, a ref and a registry" if {
	not well_formed_images
}

well_formed_images if {
	is_array(images)
	every image in images {
		is_string(image.role)
		is_string(image.ref)
		is_string(image.registry)
	}
}

# An image is :latest when its tag says so, or when it has neither tag nor
# digest (Docker then means :latest).
latest(image) if image.tag == "latest"

latest(image) if {
	object.get(image, "tag", null) == null
	object.get(image, "digest", null) == null
}

pinned(image) if regex.match(`^sha256:[0-9a-f]{64}$`, image.digest)

allowed_registry(image) if image.registry in limits.allowed_registries

# --- the same policy bundle ----------------------------------------------

reasons contains concat("", ["the policy bundle ", short(given(doc, "policy_bundle_hash")), " is not the one that gated ", release_name, " in ", text.quote(limits.from), " (", short(given(release, "policy_bundle_hash")), "): promote with the policies that judged it"]) if {
	given(doc, "policy_bundle_hash") != given(release, "policy_bundle_hash")
}

reasons contains "the policy bundle that gated the release is unknown: its evidence records no bundle hash" if {
	given(release, "policy_bundle_hash") == null
}

# --- change windows ------------------------------------------------------

frozen contains freeze if {
	some freeze in limits.freezes
	input.now_s >= freeze.start_s
	input.now_s < freeze.end_s
}

reasons contains concat("", [text.quote(limits.environment), " is frozen from ", freeze.start, " to ", freeze.end, " (", freeze.reason, "): no change may reach it now"]) if {
	some freeze in frozen
}

# --- helpers -------------------------------------------------------------

# given(obj, key) is obj[key], null when absent.
given(obj, key) := object.get(obj, key, null)

release_name := concat("", ["release ", number_text(given(release, "number"))])

current_name := concat("", ["release ", number_text(given(source, "current_release"))])

number_text(n) := format_int(n, 10) if is_number(n)

else := "(none)"

seconds(n) := concat("", [format_int(n, 10), "s"])

short(hash) := text.quote(substring(hash, 0, 12)) if is_string(hash)

else := "(none)"

decision := {
	"allow": allow,
	"reasons": sort(reasons),
	"domain": "promotion",
	"checked": {
		"release": given(release, "number"),
		"from": object.get(limits, "from", null),
		"to": object.get(limits, "environment", null),
		"soaked_seconds": soaked_seconds,
		"soak_seconds": object.get(limits, "soak_seconds", null),
		"production": object.get(limits, "production", null),
		"frozen": count(frozen) > 0,
		"images": count(images),
	},
}
