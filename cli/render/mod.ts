/**
 * Rendering: the files `swiftdeploy init` writes beside the manifest
 * (nginx.conf, docker-compose.yml, policy_data.json), made from the
 * manifest, its plan and the templates in templates/. Pure except
 * `readTemplates`, which reads the templates folder.
 */

export {
  GENERATED_FILE_NAMES,
  type GeneratedFileName,
  renderAll,
  type RenderContext,
  type RenderedFiles,
  TEMPLATE_FILE_NAMES,
  type TemplateFileName,
  type Templates,
} from "./_render_all.ts";
export { readTemplates } from "./_read_templates.ts";
export { promotionLimits } from "./_policy_data.ts";
export { nginxTestArgs, nginxTestCopy } from "./_nginx_test_copy.ts";
export { fillTemplate } from "./_template.ts";
export { logRotationBytes } from "./_render_all.ts";
export {
  PRIVATE_PATHS,
  type PrivatePathsConf,
  privatePathsConf,
  type PrivatePathsOptions,
} from "./_private_paths.ts";
