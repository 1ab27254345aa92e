// Message templates: the renderer (render.ts) apart from the text, one file per language
// (fr.ts, en.ts). Callers import from here.
export * from './types';
export * from './render';
