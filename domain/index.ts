// The pure dunning domain: import from here.
export * from './types';
export * from './duration';
export * from './dates';
export * from './policy';
export * from './schedule';
export * from './money';
export * from './rates';
export * from './penalties';
export * from './templates';
