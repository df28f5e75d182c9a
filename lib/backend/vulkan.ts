/**
 * What Vulkan needs from a Linux machine before Dawn can find an adapter: the loader (libvulkan.so.1),
 * a driver's ICD manifest, and for a hardware driver its device node. Found without loading Dawn, so
 * that the hanlab-gpu kernel and `hanlab kernels list` can name what is missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * What a machine lacks for a Vulkan adapter, found without loading Dawn: the Vulkan loader
 * (libvulkan.so.1 in `ldconfig -p`) and a driver's ICD file (VK_ICD_FILENAMES, /usr/share/vulkan/icd.d,
 * /etc/vulkan/icd.d). Empty when both are there (an adapter may still be missing).
 */
export function vulkanProblems(): string[] {
  if (process.platform !== 'linux') return [];
  const problems: string[] = [];
  if (!vulkanLoaderListed()) problems.push('the Vulkan loader libvulkan.so.1 is not in `ldconfig -p` (Debian: libvulkan1)');
  if (!vulkanIcds().length) {
    problems.push('no Vulkan driver ICD (no VK_ICD_FILENAMES, no *.json in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d; the NVIDIA driver installs nvidia_icd.json)');
  }
  return problems;
}

/** The Vulkan driver manifests the loader would read (VK_ICD_FILENAMES replaces the folders). */
export function vulkanIcds(): string[] {
  const fromEnv = (process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES ?? '').split(':').filter(Boolean);
  if (fromEnv.length) return fromEnv.filter((file) => existsSync(file));
  return ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'].flatMap((dir) => {
    try {
      return readdirSync(dir).filter((name) => name.endsWith('.json')).map((name) => path.join(dir, name));
    } catch {
      return [];
    }
  });
}

function vulkanLoaderListed(): boolean {
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    try {
      const out = execFileSync(ldconfig, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
      return /\blibvulkan\.so\.1\b/.test(out) || loaderOnLibraryPath();
    } catch {
      // try the next place
    }
  }
  return loaderOnLibraryPath();
}

/** gpu-check.sh carries a loader and points LD_LIBRARY_PATH at it where `ldconfig -p` lacks one. */
function loaderOnLibraryPath(): boolean {
  return (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean).some((dir) => existsSync(path.join(dir, 'libvulkan.so.1')));
}


/** The device files a hardware Vulkan driver opens. */
export function gpuDeviceNodes(): string[] {
  const nodes: string[] = [];
  const list = (dir: string, pattern: RegExp): void => {
    try {
      for (const name of readdirSync(dir)) if (pattern.test(name)) nodes.push(path.join(dir, name));
    } catch {
      // no such folder
    }
  };
  list('/dev', /^(nvidia\d+|dxg)$/);
  list('/dev/dri', /^renderD\d+$/);
  return nodes;
}

