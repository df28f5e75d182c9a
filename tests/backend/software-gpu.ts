/**
 * The software GPU of tests and CI: SwiftShader's Vulkan driver, which Debian's chromium package carries.
 *
 * Not lavapipe: bookworm's mesa-vulkan-drivers 22.3.6 lacks the Vulkan features Dawn requires
 * ("Vulkan shaderUniform*ArrayDynamicIndexing required": no adapter). bookworm-backports' mesa 25.0.7
 * lavapipe works, but it needs a backports source and a newer libdrm on the CI image, while chromium,
 * which CI installs for the browser tests anyway, brings SwiftShader.
 *
 * Tests skip, saying why, where it is missing, unless HANLAB_REQUIRE_SOFTWARE_GPU=1 (CI), when they fail.
 */
import { existsSync } from 'node:fs';
import { vulkanProblems } from '../../lib/backend/vulkan.js';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * The environment that points the Vulkan loader at SwiftShader only. XDG_RUNTIME_DIR: Dawn's Vulkan
 * loader prints an error line without one (harmless, but noise in every log).
 */
export function softwareGpuEnv(allow = true): Record<string, string> {
  const env: Record<string, string> = { VK_ICD_FILENAMES: SWIFTSHADER_ICD, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
  if (allow) env.HANLAB_ALLOW_SOFTWARE_GPU = '1';
  return env;
}

const missing = !existsSync(SWIFTSHADER_ICD)
  ? `${SWIFTSHADER_ICD} is missing (apt install chromium)`
  : vulkanProblems().find((problem) => problem.includes('libvulkan'));

/** A node:test `skip` value: false where the software GPU is there or required (CI), else why not. */
export const softwareGpuSkip: string | false =
  missing && process.env.HANLAB_REQUIRE_SOFTWARE_GPU !== '1' ? `${missing}; CI sets HANLAB_REQUIRE_SOFTWARE_GPU=1` : false;

/** Throws where the software GPU is required but missing (so a required test fails with the reason). */
export function assertSoftwareGpu(): void {
  if (missing) throw new Error(`the software GPU is required (HANLAB_REQUIRE_SOFTWARE_GPU=1) but ${missing}`);
}
