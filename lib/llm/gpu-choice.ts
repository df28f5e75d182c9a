/**
 * Where the local engine runs the model's products. Its own module so that option parsing (the CLI,
 * generate()) knows the choices without loading node-llama-cpp (over a second to import).
 */
export type GpuChoice = 'auto' | 'off' | 'vulkan' | 'cuda';
export const GPU_CHOICES: readonly GpuChoice[] = ['auto', 'off', 'vulkan', 'cuda'];
