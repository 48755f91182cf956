/**
 * Environment promotion (issue 15): `swiftdeploy release promote N --to
 * <env>` deploys release N of the previous environment, the identical
 * artefact, to the next one. The gate's input is built here (pure, from the
 * release's evidence), the facts it needs are read by the shell
 * (`readSourceRelease`, `sourceNow`), and policies/promotion.rego decides.
 *
 * @module
 */
export {
  contentDigest,
  DEFAULT_REGISTRY,
  describeImage,
  pinnedImages,
  type PromotionFacts,
  type PromotionImage,
  promotionInput,
  unixSeconds,
} from "./_input.ts";
export {
  builtPolicyBundleHash,
  readSourceRelease,
  sourceNow,
  type SourceRelease,
} from "./_facts.ts";
