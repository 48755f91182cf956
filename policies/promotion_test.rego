package swiftdeploy.promotion_test

import data.swiftdeploy.promotion

digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

bundle := "aaaaaaaaaaaabbbbbbbbbbbbcccccccccccc"

# Promoting to prod from staging, whose soak is 600 s.
limits := {"promotion": {
	"environment": "prod",
	"from": "staging",
	"production": true,
	"soak_seconds": 600,
	"allowed_registries": ["docker.io", "registry.example.com:5000"],
	"freezes": [{
		"start": "2026-12-24T00:00:00Z",
		"end": "2026-12-27T00:00:00Z",
		"start_s": 1798070400,
		"end_s": 1798329600,
		"reason": "holidays",
	}],
}}

# Release 3 of staging, healthy for 700 s, everything pinned.
good := {
	"now": "2026-12-01T00:11:40Z",
	"now_s": 1796083900,
	"release": {
		"number": 3,
		"environment": "staging",
		"status": "good",
		"healthy_since": "2026-12-01T00:00:00Z",
		"healthy_since_s": 1796083200,
		"policy_bundle_hash": bundle,
	},
	"source": {"current_release": 3, "healthy": true},
	"images": [
		{"role": "app", "ref": "shop:1.2.0", "registry": "docker.io", "tag": "1.2.0", "digest": digest},
		{"role": "nginx", "ref": "registry.example.com:5000/nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "registry": "registry.example.com:5000", "tag": null, "digest": digest},
	],
	"policy_bundle_hash": bundle,
}

decide(given) := d if {
	d := promotion.decision with input as given with data.limits as limits
}

decide_with(given, custom) := d if {
	d := promotion.decision with input as given with data.limits as custom
}

with_release(values) := object.union(good, {"release": object.union(good.release, values)})

with_image(i, values) := object.union(good, {"images": array.concat(array.slice(good.images, 0, i), array.concat([object.union(good.images[i], values)], array.slice(good.images, i + 1, count(good.images))))})

with_limits(values) := {"promotion": object.union(limits.promotion, values)}

test_a_soaked_pinned_release_is_promoted if {
	d := decide(good)
	d.allow == true
	d.reasons == []
	d.domain == "promotion"
	d.checked == {
		"release": 3, "from": "staging", "to": "prod", "soaked_seconds": 700,
		"soak_seconds": 600, "production": true, "frozen": false, "images": 2,
	}
}

test_soak_not_over_names_the_time_to_go if {
	d := decide(with_release({"healthy_since_s": 1796083600}))
	d.allow == false
	d.reasons == [`release 3 has run healthy in "staging" for 300s, less than its soak time of 600s (300s to go)`]
}

test_unknown_soak_denies if {
	d := decide(with_release({"healthy_since_s": null}))
	d.allow == false
	d.reasons == [`the soak time cannot be judged: input "now_s" and "release.healthy_since_s" must be numbers`]
	d.checked.soaked_seconds == null
}

test_latest_is_refused_in_production if {
	d := decide(with_image(0, {"ref": "shop:latest", "tag": "latest"}))
	d.reasons == [`image "app" is "shop:latest": "prod" is production, where no image may be :latest`]
}

test_untagged_undigested_is_latest if {
	d := decide(with_image(0, {"ref": "shop", "tag": null, "digest": null}))
	d.reasons == [
		`image "app" ("shop") is not pinned by digest: "prod" is production, where every image runs by its sha256 digest`,
		`image "app" is "shop": "prod" is production, where no image may be :latest`,
	]
}

test_unpinned_is_refused_in_production if {
	d := decide(with_image(0, {"digest": null}))
	d.reasons == [`image "app" ("shop:1.2.0") is not pinned by digest: "prod" is production, where every image runs by its sha256 digest`]
}

test_latest_and_unpinned_pass_outside_production if {
	d := decide_with(with_image(0, {"ref": "shop:latest", "tag": "latest", "digest": null}), with_limits({"production": false}))
	d.allow == true
}

test_disallowed_registry_is_refused if {
	d := decide(with_image(0, {"ref": "evil.example.com/shop:1", "registry": "evil.example.com"}))
	d.reasons == [`image "app" ("evil.example.com/shop:1") comes from registry "evil.example.com", not one of the allowed: docker.io, registry.example.com:5000`]
}

test_no_images_denies if {
	d := decide(object.union(good, {"images": []}))
	d.reasons == [`input "images" is empty: a promotion names every image it deploys`]
}

test_another_policy_bundle_is_refused if {
	d := decide(object.union(good, {"policy_bundle_hash": "dddddddddddddddddd"}))
	d.reasons == [`the policy bundle "dddddddddddd" is not the one that gated release 3 in "staging" ("aaaaaaaaaaaa"): promote with the policies that judged it`]
}

test_unknown_gating_bundle_is_refused if {
	d := decide(with_release({"policy_bundle_hash": null}))
	d.reasons == [
		`the policy bundle "aaaaaaaaaaaa" is not the one that gated release 3 in "staging" ((none)): promote with the policies that judged it`,
		"the policy bundle that gated the release is unknown: its evidence records no bundle hash",
	]
}

test_freeze_refuses_inside_and_not_at_its_end if {
	inside := object.union(good, {"now_s": 1798070400, "now": "2026-12-24T00:00:00Z"})
	d := decide(inside)
	d.reasons == [`"prod" is frozen from 2026-12-24T00:00:00Z to 2026-12-27T00:00:00Z (holidays): no change may reach it now`]
	d.checked.frozen == true
	after := object.union(good, {"now_s": 1798329600, "now": "2026-12-27T00:00:00Z"})
	decide(after).allow == true
}

test_release_from_another_environment_is_refused if {
	d := decide(with_release({"environment": "dev"}))
	d.reasons == [`release 3 was made in "dev", not in "staging": promote from the environment before "prod"`]
}

test_a_failed_release_is_refused if {
	d := decide(with_release({"status": "failed"}))
	d.reasons == [`release 3 did not pass "staging": its status is "failed", only a good release is promoted`]
}

test_a_replaced_release_is_refused if {
	d := decide(object.union(good, {"source": {"current_release": 5, "healthy": true}}))
	d.reasons == [`release 3 no longer runs in "staging" (release 5 does): promote the release that soaked there`]
}

test_no_current_release_is_named_none if {
	d := decide(object.union(good, {"source": {"current_release": null, "healthy": true}}))
	d.reasons == [`release 3 no longer runs in "staging" (release (none) does): promote the release that soaked there`]
}

test_an_unhealthy_source_is_refused if {
	d := decide(object.union(good, {"source": {"current_release": 3, "healthy": false}}))
	d.reasons == [`"staging" is not healthy now: a release is promoted only from a healthy stack`]
}

test_missing_data_denies_naming_each_key if {
	d := decide_with(good, {})
	d.allow == false
	count(d.reasons) == 6
	`policy data "limits.promotion.soak_seconds" must be a number, got null` in d.reasons
	`policy data "limits.promotion.allowed_registries" must be a array, got null` in d.reasons
}

test_a_malformed_freeze_denies if {
	d := decide_with(good, with_limits({"freezes": [{"start": "x"}]}))
	d.reasons == [`policy data "limits.promotion.freezes[0]" must hold start, end, start_s, end_s and reason`]
}

test_no_input_denies if {
	d := decide_with({}, limits)
	d.allow == false
	`input "images" is empty: a promotion names every image it deploys` in d.reasons
	d.checked.release == null
}

test_malformed_images_deny if {
	d := decide(object.union(good, {"images": "shop:1"}))
	d.allow == false
	`input "images" must be a list of images, each with a role, a ref and a registry` in d.reasons
	e := decide(with_image(0, {"role": 7}))
	e.allow == false
	`input "images" must be a list of images, each with a role, a ref and a registry` in e.reasons
}

test_input_that_is_not_an_object_denies if {
	d := decide("promotion")
	d.allow == false
	`input "images" is empty: a promotion names every image it deploys` in d.reasons
}
