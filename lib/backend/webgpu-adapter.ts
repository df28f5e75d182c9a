/**
 * The WebGPU adapter as the device manifest names it, apart from the backend itself: the kernel's GPU
 * gate and the reports name an adapter without loading TensorFlow.js (the CPU kernel's start-up never
 * pays for it).
 */

/** The limits tfjs-backend-webgpu asks the device for (it requests the adapter's own values). */
export const TFJS_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
] as const;
export type TfjsLimit = (typeof TFJS_LIMITS)[number];

/** The WebGPU adapter as the device manifest names it. */
export interface WebGpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  /** Dawn's description: on Vulkan the driver's name and version ("SwiftShader driver 5.0.0"). */
  description: string;
  /** The driver: Dawn's description, and on NVIDIA the version nvidia-smi reports. */
  driver: string;
  isFallbackAdapter: boolean;
  /** Why this adapter computes on the CPU (fallback flag or a known software rasteriser), or absent. */
  software?: string;
  limits: Record<TfjsLimit, number>;
}

/** The adapter in one line, as a report names it. */
export function adapterName(adapter: WebGpuAdapter): string {
  const name = [adapter.vendor, adapter.architecture, adapter.device].filter(Boolean).join(' ');
  return `${name || 'unnamed adapter'}${adapter.description ? `, ${adapter.description}` : ''}${adapter.software ? ' (software)' : ''}`;
}
