/** Learning rate per update: linear warmup, then linear or cosine decay to `minRatio · peak`. */
export interface LearningRateSchedule {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  decay: 'linear' | 'cosine' | 'constant';
  /** Floor as a share of the peak (default 0). */
  minRatio?: number;
}

/** Rate for update number `step` (0-based). */
export function learningRateAt(schedule: LearningRateSchedule, step: number): number {
  const { peak, warmupSteps, totalSteps, decay } = schedule;
  const floor = peak * (schedule.minRatio ?? 0);
  if (warmupSteps > 0 && step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  if (decay === 'constant') return peak;
  const span = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - warmupSteps) / span));
  const shape = decay === 'linear' ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
  return floor + (peak - floor) * shape;
}
