/** Flame graphs: folded stacks in, a self-contained interactive SVG out. */
export type { FlameAnnotation, FlameInput, FlameStack } from './model.js';
export { renderFlameGraph, type FlameRenderOptions } from './svg.js';
export { parseFolded, toFolded } from './folded.js';
export { layoutFlame, DEFAULT_MIN_WIDTH, ROOT_NAME, type FlameFrame, type FlameLayout } from './layout.js';
export { diffColor, frameColor, frameFill, frameKind, matchAnnotation, type FrameKind } from './palette.js';
export { formatDelta, formatPercent, formatValue } from './format.js';
