/**
 * One stand-in image as SVG: a comic-panel background, the class's character
 * placed at a random position, scale and tilt (often cropped, like the
 * dataset's panel crops), and sometimes a speech bubble or a second,
 * smaller character of another class.
 *
 * @module
 */
import { ACMC_CLASSES } from "../reference/mod.ts";
import { characterSvg, jitter, randomColor, randomRecipe, RECIPES } from "./recipes.ts";
import type { Recipe } from "./recipes.ts";
import type { Rng } from "../random/mod.ts";

const SKY = [
  "#9ed2f0",
  "#b3e0f7",
  "#fff3b0",
  "#f7d9c4",
  "#d7f0c8",
  "#f5c1c1",
  "#e6e6e6",
  "#ffffff",
];
const f1 = (v: number) => (Math.round(v * 10) / 10).toString();

/** The recipe for one image of `className` ("Others": a fresh random one). */
export function recipeFor(className: string, rng: Rng): Recipe {
  if (className === "Others") return randomRecipe(rng);
  const r = RECIPES[className];
  if (!r) throw new RangeError(`no stand-in recipe for class "${className}"`);
  return r;
}

function background(recipe: Recipe, rng: Rng, w: number, h: number): string {
  const base = jitter(rng, rng.chance(0.55) ? rng.pick(recipe.backgrounds) : rng.pick(SKY), 14);
  const out = [`<rect width="${w}" height="${h}" fill="${base}"/>`];
  const style = rng.int(0, 5);
  if (style === 1) {
    // Ben-Day dots, the printed-comic halftone.
    // Whole-pixel tiles: librsvg renders fractional pattern tiles ~40x slower.
    const step = Math.round(rng.uniform(5, 11) * Math.max(1, Math.min(w, h) / 300));
    const dot = jitter(rng, base, 40);
    out.push(
      `<defs><pattern id="bd" width="${f1(step)}" height="${
        f1(step)
      }" patternUnits="userSpaceOnUse">` +
        `<circle cx="${f1(step / 2)}" cy="${f1(step / 2)}" r="${
          f1(step * 0.28)
        }" fill="${dot}"/></pattern></defs>` +
        `<rect width="${w}" height="${h}" fill="url(#bd)"/>`,
    );
  } else if (style === 2) {
    const c2 = jitter(rng, rng.pick(SKY), 20);
    out.push(
      `<defs><linearGradient id="gr" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${base}"/>` +
        `<stop offset="1" stop-color="${c2}"/></linearGradient></defs>` +
        `<rect width="${w}" height="${h}" fill="url(#gr)"/>`,
    );
  } else if (style === 3) {
    // A room: floor and a wall stripe, or a window.
    const floor = h * rng.uniform(0.6, 0.85);
    out.push(
      `<rect y="${f1(floor)}" width="${w}" height="${f1(h - floor)}" fill="${randomColor(rng)}"/>`,
      `<rect x="${f1(w * rng.uniform(0, 0.6))}" y="${f1(h * 0.1)}" width="${f1(w * 0.3)}" height="${
        f1(h * 0.3)
      }" fill="#cfe8ff" stroke="#1a1a1a" stroke-width="${f1(Math.max(1, w / 150))}"/>`,
    );
  } else if (style === 4) {
    // Speed lines.
    const cx = w * rng.uniform(0.3, 0.7), cy = h * rng.uniform(0.3, 0.7);
    let d = "";
    for (let i = 0; i < 24; i++) {
      const a = rng.uniform(0, 2 * Math.PI), r0 = Math.max(w, h) * rng.uniform(0.35, 0.6);
      d += `M${f1(cx + Math.cos(a) * r0)},${f1(cy + Math.sin(a) * r0)}L${
        f1(cx + Math.cos(a) * r0 * 3)
      },${f1(cy + Math.sin(a) * r0 * 3)}`;
    }
    out.push(
      `<path d="${d}" stroke="#1a1a1a" stroke-opacity="0.5" stroke-width="${
        f1(Math.max(1, w / 200))
      }"/>`,
    );
  }
  return out.join("");
}

function bubble(rng: Rng, w: number, h: number): string {
  const bw = w * rng.uniform(0.3, 0.55), bh = h * rng.uniform(0.12, 0.25);
  const x = rng.uniform(0, w - bw), y = rng.uniform(0, h * 0.3);
  const sw = f1(Math.max(1, Math.min(w, h) / 150));
  let lines = "";
  const rows = Math.max(1, Math.floor(bh / Math.max(8, bh / 4)));
  for (let i = 0; i < rows; i++) {
    const ly = y + bh * (0.3 + (0.45 * i) / Math.max(1, rows - 1 || 1));
    const lx = x + bw * 0.2, lw = bw * rng.uniform(0.4, 0.6);
    lines += `M${f1(lx)},${f1(ly)}h${f1(lw)}`;
  }
  return `<ellipse cx="${f1(x + bw / 2)}" cy="${f1(y + bh / 2)}" rx="${f1(bw / 2)}" ry="${
    f1(bh / 2)
  }" fill="#ffffff" stroke="#1a1a1a" stroke-width="${sw}"/>` +
    `<path d="${lines}" stroke="#333" stroke-width="${
      f1(Math.max(1, bh / 12))
    }" stroke-dasharray="${f1(bh / 6)} ${f1(bh / 12)}"/>`;
}

/** Places a character drawing (frame 100 x 290, head at the top) into a w x h image. */
function place(
  char: string,
  rng: Rng,
  w: number,
  h: number,
  size: number,
  shiftX = 0,
): string {
  // How much of the 290-unit body shows: tall crops show more of it.
  const aspect = h / w;
  const shown = Math.min(290, Math.max(95, 100 * aspect * rng.uniform(0.9, 1.5)));
  const s = Math.min(w / 100, h / shown) * size;
  const tx = w * (0.5 + shiftX) - 50 * s + rng.normal(0, w * 0.1);
  const ty = Math.max(-40 * s, (h - shown * s) / 2 + rng.normal(0, h * 0.08));
  const rot = rng.normal(0, 6);
  const flip = rng.chance(0.5);
  const inner = flip ? `<g transform="translate(100,0) scale(-1,1)">${char}</g>` : char;
  return `<g transform="translate(${f1(tx)},${f1(ty)}) scale(${s.toFixed(3)}) rotate(${
    f1(rot)
  } 50 80)">${inner}</g>`;
}

/**
 * The SVG of one image of `className`, `width` x `height` pixels, drawn from
 * `rng` (same rng state, same image).
 */
export function imageSvg(className: string, rng: Rng, width: number, height: number): string {
  const recipe = recipeFor(className, rng);
  const parts: string[] = [background(recipe, rng, width, height)];
  let side = 0;
  if (width / height > 1.3 && rng.chance(0.35)) {
    // A smaller character of another class at the side (comic panels are crowded).
    side = rng.chance(0.5) ? 1 : -1;
    const other = rng.pick(ACMC_CLASSES.filter((c) => c !== className));
    const char = characterSvg(recipeFor(other, rng), rng);
    parts.push(place(char, rng, width, height, rng.uniform(0.45, 0.7), side * 0.3));
  }
  const main = characterSvg(recipe, rng);
  parts.push(place(main, rng, width, height, rng.uniform(0.75, 1.25), -side * 0.12));
  if (width > 80 && height > 80 && rng.chance(0.25)) parts.push(bubble(rng, width, height));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${
    parts.join("")
  }</svg>`;
}
