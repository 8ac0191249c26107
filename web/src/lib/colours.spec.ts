import { describe, expect, it } from 'vitest';
import { CARDS, PALETTES, type Scheme, seriesColours } from './colours';

// Colour science, written out so the palettes' promise is checked rather than trusted.
const channels = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
const linear = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const luminance = (hex: string) => {
  const [r, g, b] = channels(hex).map(linear);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
/** WCAG 2.2 contrast ratio. */
const contrast = (a: string, b: string) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
};
/** Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB. */
const VISION: Record<string, number[][]> = {
  normal: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
  protanopia: [
    [0.152286, 1.052583, -0.204868],
    [0.114503, 0.786281, 0.099216],
    [-0.003882, -0.048116, 1.051998],
  ],
  deuteranopia: [
    [0.367322, 0.860646, -0.227968],
    [0.280085, 0.672501, 0.047413],
    [-0.01182, 0.04294, 0.968881],
  ],
  tritanopia: [
    [1.255528, -0.076749, -0.178779],
    [-0.078411, 0.930809, 0.147602],
    [0.004733, 0.691367, 0.3039],
  ],
};
/** CIELAB (D65) of a colour as seen with a vision type. */
function lab(hex: string, vision: number[][]): [number, number, number] {
  const rgb = channels(hex).map(linear);
  const [r, g, b] = vision.map((row) =>
    Math.min(1, Math.max(0, row[0] * rgb[0] + row[1] * rgb[1] + row[2] * rgb[2])),
  );
  const x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
  const y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
  const f = (t: number) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}
const deltaE = (a: number[], b: number[]) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

describe('chart colours', () => {
  it.each(Object.keys(PALETTES) as Scheme[])(
    'the %s palette: every pair apart (ΔE ≥ 25) in normal and colour-deficient vision, each ≥ 3:1 on its card',
    (scheme) => {
      const palette = PALETTES[scheme];
      expect(new Set(palette).size).toBe(8);
      for (const colour of palette)
        expect(contrast(colour, CARDS[scheme]), colour).toBeGreaterThanOrEqual(3);
      for (const [name, vision] of Object.entries(VISION))
        for (let i = 0; i < palette.length; i++)
          for (let j = i + 1; j < palette.length; j++)
            expect(
              deltaE(lab(palette[i], vision), lab(palette[j], vision)),
              `${name}: ${palette[i]} vs ${palette[j]}`,
            ).toBeGreaterThanOrEqual(25);
    },
  );

  it('gives each series its own colour, the same from load to load', () => {
    // The two pairs a hash alone painted alike.
    const models = [
      'claude-opus-4-1-20250805',
      'unknown-model',
      'claude-opus-4-5-20251101',
      'claude-haiku-4-5-20251001',
      'claude-sonnet-4-5-20250929',
      'gpt-5-codex',
      'gemini-2.5-pro',
      '<synthetic>',
    ];
    for (const scheme of ['light', 'dark'] as const) {
      const colours = seriesColours(models, scheme);
      expect(new Set(colours.values()).size).toBe(models.length);
      expect(seriesColours([...models].reverse(), scheme)).toEqual(colours);
      for (let n = 1; n <= models.length; n++)
        expect(new Set(seriesColours(models.slice(0, n), scheme).values()).size).toBe(n);
    }
    // More names than colours: they repeat, every name still has one.
    const many = Array.from({ length: 12 }, (_, i) => `member-${i}`);
    expect(seriesColours(many, 'light').size).toBe(12);
  });
});
