/** Current time in epoch ms; injected so time-based logic can be tested without sleeping. */
export type Clock = () => number;
export const CLOCK = Symbol('CLOCK');
export const systemClock: Clock = () => Date.now();
