/**
 * What each class of the stand-in looks like: a "recipe" per ACMC class
 * (hair style and colours, face, glasses, moustache, clothes, build,
 * background tendencies) drawn as a cartoon character in SVG.
 *
 * Some pairs share most features on purpose, so that confusion matrices get
 * structure: Archie / Reggie (same face and hair cut, different hair colour),
 * Archie / Fred Andrews (red hair), Betty / Veronica (same clothes palette and
 * long hair, blond vs black), Chuck / Harry Clayton, Pop Tate / Beazley (chef
 * hats), Weatherbee / Hiram Lodge / Smithers (bald men in suits). "Others" is a
 * random mixture of every feature.
 *
 * @module
 */
import type { Rng } from "../random/mod.ts";

/** Hair styles the drawing knows. */
export type HairStyle =
  | "archie"
  | "slick"
  | "short"
  | "ponytail"
  | "longbob"
  | "long"
  | "bob"
  | "crown"
  | "crew"
  | "bald"
  | "bun"
  | "curly"
  | "cap"
  | "chef"
  | "sidepart";

/** Accessories and marks. */
export type Extra =
  | "glasses"
  | "mustache"
  | "bowtie"
  | "tie"
  | "freckles"
  | "earrings"
  | "necklace"
  | "teeth"
  | "whistle"
  | "sglyph"
  | "apron"
  | "lapels"
  | "straps"
  | "stains";

/** Clothes patterns. */
export type Pattern = "solid" | "stripes" | "vstripe" | "dots" | "collar";

/** How one class is drawn. Arrays are choices, picked per image. */
export interface Recipe {
  skin: readonly string[];
  hair: readonly HairStyle[];
  hairColors: readonly string[];
  /** Face radii factors (1 = average). */
  face: { w: number; h: number };
  eyes: "dots" | "ovals" | "lashes" | "sleepy";
  /** Extras always drawn. */
  extras: readonly Extra[];
  /** Extras drawn with probability 0.5 each. */
  maybe?: readonly Extra[];
  clothes: readonly string[];
  patterns: readonly Pattern[];
  /** Shoulder width factor (1 = average). */
  build: number;
  /** Background colours this class tends to appear on (used 55 % of the time). */
  backgrounds: readonly string[];
}

const LIGHT = ["#f7d5b8", "#f1c8a3", "#eec09a", "#f9dcc4"] as const;
const DARK = ["#8d5524", "#7a4a22", "#6b4226", "#94603a"] as const;
const SUITS = ["#37474f", "#455a64", "#4e342e", "#263238"] as const;
const SKY = ["#9ed2f0", "#b3e0f7", "#fff3b0", "#f7d9c4", "#d7f0c8", "#f5c1c1", "#e6e6e6"] as const;

/** The recipe of every ACMC class except "Others" (see {@linkcode randomRecipe}). */
export const RECIPES: Readonly<Record<string, Recipe>> = {
  "Archie": {
    skin: LIGHT,
    hair: ["archie"],
    hairColors: ["#d9531e", "#c8461a", "#e06a2c", "#b5441f"],
    face: { w: 1, h: 1 },
    eyes: "dots",
    extras: ["freckles"],
    clothes: ["#2e7d32", "#f2c12e", "#c62828", "#1565c0", "#e0e0e0"],
    patterns: ["solid", "vstripe", "collar"],
    build: 1,
    backgrounds: ["#9ed2f0", "#fff3b0", "#f5c1c1"],
  },
  "Reggie": {
    skin: LIGHT,
    hair: ["slick", "archie"],
    hairColors: ["#2a1c14", "#3b2a20", "#4a2e1e", "#5a3422"],
    face: { w: 1, h: 1.02 },
    eyes: "dots",
    extras: [],
    maybe: ["freckles"],
    clothes: ["#2e7d32", "#c62828", "#1565c0", "#212121", "#e0e0e0"],
    patterns: ["solid", "collar", "vstripe"],
    build: 1,
    backgrounds: ["#9ed2f0", "#fff3b0", "#f5c1c1"],
  },
  "Jughead": {
    skin: LIGHT,
    hair: ["crown"],
    hairColors: ["#1c1c1c", "#2b2b2b"],
    face: { w: 0.95, h: 1.1 },
    eyes: "sleepy",
    extras: ["sglyph"],
    clothes: ["#9e9e9e", "#bdbdbd", "#f9a825", "#8d8d8d"],
    patterns: ["solid"],
    build: 0.95,
    backgrounds: ["#fff3b0", "#d7f0c8", "#f7d9c4"],
  },
  "Betty": {
    skin: LIGHT,
    hair: ["ponytail", "longbob"],
    hairColors: ["#f5d76e", "#f0c94a", "#ecd98b", "#e8c35a"],
    face: { w: 0.95, h: 1 },
    eyes: "lashes",
    extras: [],
    maybe: ["earrings", "necklace"],
    clothes: ["#f48fb1", "#90caf9", "#ce93d8", "#ffffff", "#7e57c2"],
    patterns: ["solid", "stripes", "collar"],
    build: 0.9,
    backgrounds: ["#f5c1c1", "#b3e0f7", "#fff3b0"],
  },
  "Veronica": {
    skin: LIGHT,
    hair: ["longbob", "ponytail"],
    hairColors: ["#141414", "#1f1a24", "#2b2233", "#3a2a2a"],
    face: { w: 0.95, h: 1 },
    eyes: "lashes",
    extras: ["earrings"],
    maybe: ["necklace"],
    clothes: ["#7e57c2", "#90caf9", "#f48fb1", "#5c6bc0", "#ce93d8"],
    patterns: ["solid", "collar", "stripes"],
    build: 0.9,
    backgrounds: ["#f5c1c1", "#b3e0f7", "#e6e6e6"],
  },
  "Moose": {
    skin: LIGHT,
    hair: ["crew"],
    hairColors: ["#f0d060", "#e6c24c", "#d9b44a"],
    face: { w: 1.2, h: 1.05 },
    eyes: "dots",
    extras: [],
    clothes: ["#1e88e5", "#e53935", "#fdd835", "#43a047"],
    patterns: ["stripes", "solid"],
    build: 1.4,
    backgrounds: ["#d7f0c8", "#9ed2f0"],
  },
  "Dilton": {
    skin: LIGHT,
    hair: ["sidepart"],
    hairColors: ["#6d4c41", "#5d4037", "#795548"],
    face: { w: 0.9, h: 0.95 },
    eyes: "ovals",
    extras: ["glasses"],
    maybe: ["bowtie"],
    clothes: ["#4db6ac", "#fff176", "#e0e0e0", "#a1887f"],
    patterns: ["solid", "collar"],
    build: 0.8,
    backgrounds: ["#e6e6e6", "#d7f0c8"],
  },
  "Midge": {
    skin: LIGHT,
    hair: ["bob"],
    hairColors: ["#3e2723", "#4e342e", "#5d4037"],
    face: { w: 0.9, h: 0.95 },
    eyes: "lashes",
    extras: [],
    maybe: ["earrings"],
    clothes: ["#ef5350", "#ffb74d", "#ba68c8", "#4fc3f7"],
    patterns: ["solid", "dots"],
    build: 0.85,
    backgrounds: ["#f5c1c1", "#fff3b0"],
  },
  "Ethel": {
    skin: LIGHT,
    hair: ["long"],
    hairColors: ["#5d4037", "#3e2723", "#6d4c41"],
    face: { w: 0.85, h: 1.2 },
    eyes: "lashes",
    extras: ["teeth"],
    clothes: ["#aed581", "#ff8a65", "#fff59d", "#ce93d8"],
    patterns: ["dots", "solid"],
    build: 0.85,
    backgrounds: ["#d7f0c8", "#f7d9c4"],
  },
  "Nancy": {
    skin: DARK,
    hair: ["curly", "bob"],
    hairColors: ["#141414", "#222222"],
    face: { w: 0.92, h: 1 },
    eyes: "lashes",
    extras: ["earrings"],
    clothes: ["#ffca28", "#26a69a", "#ec407a", "#ab47bc"],
    patterns: ["solid", "stripes"],
    build: 0.88,
    backgrounds: ["#fff3b0", "#b3e0f7"],
  },
  "Chuck": {
    skin: DARK,
    hair: ["short"],
    hairColors: ["#141414", "#222222"],
    face: { w: 1, h: 1.02 },
    eyes: "dots",
    extras: [],
    clothes: ["#ff7043", "#42a5f5", "#66bb6a", "#fdd835"],
    patterns: ["solid", "vstripe", "collar"],
    build: 1,
    backgrounds: ["#9ed2f0", "#fff3b0"],
  },
  "Harry Clayton": {
    skin: DARK,
    hair: ["short"],
    hairColors: ["#3a3a3a", "#555555", "#222222"],
    face: { w: 1.05, h: 1.08 },
    eyes: "dots",
    extras: ["mustache", "tie"],
    clothes: ["#5d4037", "#455a64", "#42a5f5"],
    patterns: ["collar", "solid"],
    build: 1.1,
    backgrounds: ["#e6e6e6", "#9ed2f0"],
  },
  "Weatherbee": {
    skin: LIGHT,
    hair: ["bald"],
    hairColors: ["#9e9e9e", "#bdbdbd", "#757575"],
    face: { w: 1.3, h: 1.05 },
    eyes: "ovals",
    extras: ["glasses", "bowtie"],
    clothes: SUITS,
    patterns: ["collar"],
    build: 1.35,
    backgrounds: ["#e6e6e6", "#f7d9c4"],
  },
  "Grundy": {
    skin: LIGHT,
    hair: ["bun"],
    hairColors: ["#bdbdbd", "#9e9e9e", "#e0e0e0"],
    face: { w: 0.85, h: 1.1 },
    eyes: "ovals",
    extras: ["glasses"],
    maybe: ["necklace"],
    clothes: ["#8e24aa", "#6a1b9a", "#ad1457", "#5e35b1"],
    patterns: ["solid", "collar"],
    build: 0.85,
    backgrounds: ["#e6e6e6", "#d7f0c8"],
  },
  "Pop Tate": {
    skin: LIGHT,
    hair: ["chef"],
    hairColors: ["#9e9e9e", "#757575"],
    face: { w: 1.25, h: 1 },
    eyes: "dots",
    extras: ["mustache", "apron"],
    clothes: ["#ffffff", "#f5f5f5", "#eeeeee"],
    patterns: ["solid"],
    build: 1.3,
    backgrounds: ["#f7d9c4", "#fff3b0"],
  },
  "Beazley": {
    skin: LIGHT,
    hair: ["chef"],
    hairColors: ["#5d4037", "#3e2723"],
    face: { w: 1.1, h: 1.1 },
    eyes: "sleepy",
    extras: ["apron", "stains"],
    clothes: ["#ffffff", "#f5f5f5", "#e8e8e8"],
    patterns: ["solid", "dots"],
    build: 1.2,
    backgrounds: ["#f7d9c4", "#e6e6e6"],
  },
  "Svenson": {
    skin: LIGHT,
    hair: ["sidepart", "cap"],
    hairColors: ["#cfd8dc", "#e0d7a8"],
    face: { w: 0.85, h: 1.3 },
    eyes: "sleepy",
    extras: ["straps"],
    maybe: ["mustache"],
    clothes: ["#607d8b", "#546e7a", "#78909c"],
    patterns: ["solid"],
    build: 1,
    backgrounds: ["#e6e6e6", "#d7f0c8"],
  },
  "Flutesnoot": {
    skin: LIGHT,
    hair: ["curly", "sidepart"],
    hairColors: ["#bdbdbd", "#9e9e9e"],
    face: { w: 0.9, h: 1.15 },
    eyes: "ovals",
    extras: ["glasses", "bowtie"],
    clothes: ["#8d6e63", "#795548", "#a1887f"],
    patterns: ["collar"],
    build: 0.9,
    backgrounds: ["#e6e6e6", "#fff3b0"],
  },
  "Kleats": {
    skin: LIGHT,
    hair: ["cap"],
    hairColors: ["#c62828", "#1565c0", "#2e7d32"],
    face: { w: 1.05, h: 1.05 },
    eyes: "dots",
    extras: ["whistle"],
    clothes: ["#1565c0", "#c62828", "#eeeeee"],
    patterns: ["vstripe", "stripes"],
    build: 1.15,
    backgrounds: ["#d7f0c8", "#9ed2f0"],
  },
  "Fred Andrews": {
    skin: LIGHT,
    hair: ["archie", "sidepart"],
    hairColors: ["#b5441f", "#a0522d", "#c8461a"],
    face: { w: 1.05, h: 1.1 },
    eyes: "dots",
    extras: ["mustache"],
    maybe: ["tie", "freckles"],
    clothes: ["#6d4c41", "#546e7a", "#90a4ae", "#c62828"],
    patterns: ["collar", "solid"],
    build: 1.1,
    backgrounds: ["#9ed2f0", "#f7d9c4"],
  },
  "Smithers": {
    skin: LIGHT,
    hair: ["bald"],
    hairColors: ["#e0e0e0", "#bdbdbd"],
    face: { w: 0.9, h: 1.2 },
    eyes: "sleepy",
    extras: ["lapels", "bowtie"],
    clothes: ["#212121", "#263238"],
    patterns: ["collar"],
    build: 0.95,
    backgrounds: ["#e6e6e6", "#f7d9c4"],
  },
  "Hiram Lodge": {
    skin: LIGHT,
    hair: ["bald"],
    hairColors: ["#212121", "#424242"],
    face: { w: 1.15, h: 1.05 },
    eyes: "dots",
    extras: ["mustache", "lapels", "tie"],
    clothes: SUITS,
    patterns: ["collar"],
    build: 1.15,
    backgrounds: ["#e6e6e6", "#f5c1c1"],
  },
};

const ALL_HAIR: readonly HairStyle[] = [
  "archie",
  "slick",
  "short",
  "ponytail",
  "longbob",
  "long",
  "bob",
  "crown",
  "crew",
  "bald",
  "bun",
  "curly",
  "cap",
  "chef",
  "sidepart",
];
const ALL_EXTRAS: readonly Extra[] = [
  "glasses",
  "mustache",
  "bowtie",
  "tie",
  "freckles",
  "earrings",
  "necklace",
  "teeth",
  "whistle",
  "apron",
  "lapels",
  "straps",
];
const HAIR_COLORS = [
  "#141414",
  "#3e2723",
  "#6d4c41",
  "#d9531e",
  "#f0c94a",
  "#bdbdbd",
  "#8e24aa",
  "#1565c0",
  "#2e7d32",
  "#ff7043",
];

/** A random recipe: "Others" draws each of its images from a fresh one. */
export function randomRecipe(rng: Rng): Recipe {
  const extras: Extra[] = ALL_EXTRAS.filter(() => rng.chance(0.15));
  const clothes = Array.from({ length: 3 }, () => randomColor(rng));
  return {
    skin: rng.chance(0.75) ? LIGHT : rng.chance(0.7) ? DARK : ["#c5e1a5", "#b3e5fc", "#f8bbd0"],
    hair: [rng.pick(ALL_HAIR)],
    hairColors: [rng.pick(HAIR_COLORS)],
    face: { w: rng.uniform(0.8, 1.3), h: rng.uniform(0.85, 1.3) },
    eyes: rng.pick(["dots", "ovals", "lashes", "sleepy"] as const),
    extras,
    clothes,
    patterns: [rng.pick(["solid", "stripes", "vstripe", "dots", "collar"] as const)],
    build: rng.uniform(0.8, 1.35),
    backgrounds: SKY,
  };
}

/** A random saturated colour as hex. */
export function randomColor(rng: Rng): string {
  return hsl(rng.uniform(0, 360), rng.uniform(0.35, 0.85), rng.uniform(0.35, 0.8));
}

/** HSL (h in degrees, s and l in 0..1) to `#rrggbb`. */
export function hsl(h: number, s: number, l: number): string {
  const k = (n: number) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return "#" +
    [f(0), f(8), f(4)].map((v) =>
      Math.round(Math.max(0, Math.min(1, v)) * 255).toString(16).padStart(2, "0")
    ).join("");
}

/** `#rrggbb` with each channel moved by up to `amount` (0..255), for per-image variation. */
export function jitter(rng: Rng, color: string, amount: number): string {
  const n = parseInt(color.slice(1), 16);
  const ch = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  const shift = rng.uniform(-amount, amount); // shared: keeps the hue
  return "#" +
    ch.map((c) =>
      Math.round(Math.max(0, Math.min(255, c + shift + rng.uniform(-amount, amount) / 3)))
        .toString(16).padStart(2, "0")
    ).join("");
}

const f1 = (v: number) => (Math.round(v * 10) / 10).toString();
const INK = "#1a1a1a";

/** A hair (or hat) drawn around a head centred at (cx, cy) with radii rx, ry. */
function hairSvg(
  style: HairStyle,
  color: string,
  cx: number,
  cy: number,
  rx: number,
  ry: number,
  rng: Rng,
  back: boolean,
): string {
  const top = cy - ry;
  const L = cx - rx, R = cx + rx;
  const cap = (thick: number, lift = 6) =>
    `<path fill="${color}" d="M${f1(L - 2)},${f1(cy - ry * 0.15)} Q${f1(L - 3)},${f1(top - lift)} ${
      f1(cx)
    },${f1(top - lift)} Q${f1(R + 3)},${f1(top - lift)} ${f1(R + 2)},${f1(cy - ry * 0.15)} Q${
      f1(R - 2)
    },${f1(top + ry * thick)} ${f1(cx)},${f1(top + ry * thick * 0.8)} Q${f1(L + 2)},${
      f1(top + ry * thick)
    } ${f1(L - 2)},${f1(cy - ry * 0.15)}Z"/>`;
  // "back" layers are drawn behind the head (long hair, ponytails, buns).
  switch (style) {
    case "archie": {
      if (back) return "";
      const hx = L + rx * 0.35, hy = top + ry * 0.35;
      return cap(0.45) +
        `<path fill="none" stroke="${INK}" stroke-width="1.4" d="M${f1(hx - 4)},${
          f1(hy - 6)
        }l3,10M${f1(hx + 1)},${f1(hy - 7)}l3,10M${f1(hx - 6)},${f1(hy - 2)}l11,-1.5M${f1(hx - 5)},${
          f1(hy + 2)
        }l11,-1.5"/>`;
    }
    case "slick":
      if (back) return "";
      return cap(0.4) +
        `<path fill="${color}" d="M${f1(L)},${f1(top + ry * 0.3)} Q${f1(cx - rx * 0.3)},${
          f1(top - ry * 0.5)
        } ${f1(R + 4)},${f1(top + ry * 0.15)} Q${f1(cx)},${f1(top + ry * 0.05)} ${f1(L)},${
          f1(top + ry * 0.3)
        }Z"/><path fill="none" stroke="#ffffff" stroke-opacity="0.6" stroke-width="1.2" d="M${
          f1(cx - rx * 0.3)
        },${f1(top - 1)} q${f1(rx * 0.4)},-3 ${f1(rx * 0.8)},1"/>`;
    case "short":
      return back ? "" : cap(0.35, 3);
    case "sidepart":
      if (back) return "";
      return cap(0.42, 4) +
        `<path fill="none" stroke="${INK}" stroke-width="1.2" d="M${f1(cx - rx * 0.35)},${
          f1(top - 3)
        } q2,${f1(ry * 0.3)} ${f1(rx * 0.1)},${f1(ry * 0.45)}"/>`;
    case "ponytail":
      if (back) {
        const side = rng.chance(0.5) ? 1 : -1;
        return `<ellipse fill="${color}" cx="${f1(cx + side * (rx + 7))}" cy="${
          f1(cy - ry * 0.2)
        }" rx="9" ry="${f1(ry * 0.9)}" transform="rotate(${side * 20} ${f1(cx + side * (rx + 7))} ${
          f1(cy - ry * 0.2)
        })"/>`;
      }
      return cap(0.5, 5) +
        `<path fill="${color}" d="M${f1(cx - rx * 0.7)},${f1(top + ry * 0.2)} q${f1(rx * 0.35)},${
          f1(ry * 0.45)
        } ${f1(rx * 0.75)},${f1(ry * 0.05)} q${f1(rx * 0.3)},${f1(ry * 0.3)} ${
          f1(rx * 0.65)
        },0Z"/>`;
    case "longbob":
      if (back) {
        return `<path fill="${color}" d="M${f1(L - 6)},${f1(cy)} Q${f1(L - 8)},${f1(top - 8)} ${
          f1(cx)
        },${f1(top - 7)} Q${f1(R + 8)},${f1(top - 8)} ${f1(R + 6)},${f1(cy)} L${f1(R + 9)},${
          f1(cy + ry + 10)
        } Q${f1(cx)},${f1(cy + ry + 4)} ${f1(L - 9)},${f1(cy + ry + 10)}Z"/>`;
      }
      return cap(0.5, 6) +
        `<path fill="${color}" d="M${f1(cx + rx * 0.1)},${f1(top - 4)} Q${f1(L + 1)},${
          f1(top + ry * 0.2)
        } ${f1(L - 1)},${f1(cy + ry * 0.2)} L${f1(L + 3)},${f1(cy - ry * 0.3)}Z"/>`;
    case "long":
      if (back) {
        return `<path fill="${color}" d="M${f1(L - 5)},${f1(cy - ry * 0.3)} Q${f1(cx)},${
          f1(top - 14)
        } ${f1(R + 5)},${f1(cy - ry * 0.3)} L${f1(R + 8)},${f1(cy + ry + 30)} L${f1(R - 4)},${
          f1(cy + ry + 22)
        } L${f1(cx)},${f1(cy + ry + 12)} L${f1(L + 4)},${f1(cy + ry + 22)} L${f1(L - 8)},${
          f1(cy + ry + 30)
        }Z"/>`;
      }
      return cap(0.35, 5);
    case "bob":
      if (back) {
        return `<path fill="${color}" d="M${f1(L - 5)},${f1(cy + ry * 0.5)} Q${f1(L - 7)},${
          f1(top - 6)
        } ${f1(cx)},${f1(top - 6)} Q${f1(R + 7)},${f1(top - 6)} ${f1(R + 5)},${
          f1(cy + ry * 0.5)
        }Z"/>`;
      }
      return cap(0.55, 6);
    case "crown": {
      if (back) return "";
      const base = top + ry * 0.3;
      const tips = 5;
      let d = `M${f1(L - 3)},${f1(base)}`;
      for (let i = 0; i <= tips * 2; i++) {
        const x = L - 3 + ((2 * rx + 6) * i) / (tips * 2);
        const y = i % 2 === 1 ? top - 13 - rng.uniform(0, 3) : top - 2;
        d += `L${f1(x)},${f1(y)}`;
      }
      d += `L${f1(R + 3)},${f1(base)}Z`;
      const buttons = [0.3, 0.5, 0.7].map((t) =>
        `<circle cx="${f1(L + 2 * rx * t)}" cy="${f1(top + 1)}" r="1.8" fill="${
          rng.pick(["#e53935", "#fdd835", "#1e88e5"])
        }"/>`
      ).join("");
      return cap(0.4, 2) + `<path fill="#d0d0d0" d="${d}"/>${buttons}`;
    }
    case "crew":
      if (back) return "";
      return `<rect fill="${color}" x="${f1(L - 1)}" y="${f1(top - 9)}" width="${
        f1(2 * rx + 2)
      }" height="${f1(ry * 0.6 + 9)}" rx="5"/>`;
    case "bald":
      if (back) return "";
      return `<ellipse fill="${color}" cx="${f1(L + 1)}" cy="${f1(cy - ry * 0.15)}" rx="4" ry="${
        f1(ry * 0.3)
      }"/><ellipse fill="${color}" cx="${f1(R - 1)}" cy="${f1(cy - ry * 0.15)}" rx="4" ry="${
        f1(ry * 0.3)
      }"/><path fill="none" stroke="#ffffff" stroke-opacity="0.7" stroke-width="2" d="M${
        f1(cx - rx * 0.4)
      },${f1(top + 5)} q${f1(rx * 0.3)},-3 ${f1(rx * 0.6)},0"/>`;
    case "bun":
      if (back) {
        return `<circle fill="${color}" cx="${f1(cx)}" cy="${f1(top - 6)}" r="${f1(rx * 0.45)}"/>`;
      }
      return cap(0.35, 4);
    case "curly": {
      if (back) return "";
      let s = "";
      for (let i = 0; i < 9; i++) {
        const a = Math.PI * (1.05 + (0.9 * i) / 8);
        s += `<circle fill="${color}" cx="${f1(cx + Math.cos(a) * (rx + 1))}" cy="${
          f1(cy - ry * 0.2 + Math.sin(a) * (ry + 1))
        }" r="${f1(rx * 0.3 + rng.uniform(0, 2))}"/>`;
      }
      return s;
    }
    case "cap":
      if (back) return "";
      return `<path fill="${color}" d="M${f1(L - 2)},${f1(top + ry * 0.35)} Q${f1(cx)},${
        f1(top - 16)
      } ${f1(R + 2)},${f1(top + ry * 0.35)}Z"/><path fill="${color}" d="M${f1(cx)},${
        f1(top + ry * 0.3)
      } L${f1(R + 16)},${f1(top + ry * 0.42)} L${f1(R + 14)},${f1(top + ry * 0.3)} Z"/>`;
    case "chef":
      if (back) return "";
      return `<rect fill="#ffffff" x="${f1(L + 1)}" y="${f1(top - 18)}" width="${
        f1(2 * rx - 2)
      }" height="22"/><circle fill="#ffffff" cx="${f1(cx - rx * 0.5)}" cy="${f1(top - 20)}" r="${
        f1(rx * 0.45)
      }"/><circle fill="#ffffff" cx="${f1(cx + rx * 0.5)}" cy="${f1(top - 20)}" r="${
        f1(rx * 0.45)
      }"/><circle fill="#ffffff" cx="${f1(cx)}" cy="${f1(top - 26)}" r="${
        f1(rx * 0.5)
      }"/><ellipse fill="${color}" cx="${f1(L + 2)}" cy="${f1(cy - ry * 0.1)}" rx="3.5" ry="${
        f1(ry * 0.3)
      }"/><ellipse fill="${color}" cx="${f1(R - 2)}" cy="${f1(cy - ry * 0.1)}" rx="3.5" ry="${
        f1(ry * 0.3)
      }"/>`;
  }
}

/** The per-image choices made from a recipe. */
interface Look {
  skin: string;
  hair: HairStyle;
  hairColor: string;
  clothes: string;
  clothes2: string;
  pattern: Pattern;
  extras: Set<Extra>;
}

function chooseLook(recipe: Recipe, rng: Rng): Look {
  const extras = new Set<Extra>(recipe.extras);
  for (const e of recipe.maybe ?? []) if (rng.chance(0.5)) extras.add(e);
  return {
    skin: jitter(rng, rng.pick(recipe.skin), 10),
    hair: rng.pick(recipe.hair),
    hairColor: jitter(rng, rng.pick(recipe.hairColors), 18),
    clothes: jitter(rng, rng.pick(recipe.clothes), 20),
    clothes2: jitter(rng, rng.pick(recipe.clothes), 20),
    pattern: rng.pick(recipe.patterns),
    extras,
  };
}

/**
 * One character of `recipe` as an SVG group, in a frame 100 units wide with
 * the head centred at (50, 50) and the body reaching y = 290 (head and
 * shoulders fill y = 0..170).
 */
export function characterSvg(recipe: Recipe, rng: Rng): string {
  const look = chooseLook(recipe, rng);
  const cx = 50, cy = 50;
  const rx = 21 * recipe.face.w * rng.uniform(0.94, 1.06);
  const ry = 25 * recipe.face.h * rng.uniform(0.94, 1.06);
  const sw = 34 * recipe.build * rng.uniform(0.93, 1.07);
  const stroke = f1(rng.uniform(1.2, 2.4));
  const out: string[] = [`<g stroke="${INK}" stroke-width="${stroke}" stroke-linejoin="round">`];

  // Legs and body.
  const pants = jitter(rng, rng.pick(["#1e3a5f", "#3e2723", "#424242", "#5d4037", "#1565c0"]), 15);
  out.push(
    `<rect fill="${pants}" x="${f1(cx - sw * 0.7)}" y="165" width="${
      f1(sw * 0.65)
    }" height="115"/>`,
    `<rect fill="${pants}" x="${f1(cx + sw * 0.05)}" y="165" width="${
      f1(sw * 0.65)
    }" height="115"/>`,
    `<ellipse fill="${INK}" cx="${f1(cx - sw * 0.4)}" cy="284" rx="${f1(sw * 0.45)}" ry="7"/>`,
    `<ellipse fill="${INK}" cx="${f1(cx + sw * 0.4)}" cy="284" rx="${f1(sw * 0.45)}" ry="7"/>`,
  );
  const torso = `M${f1(cx - sw)},${f1(cy + ry + 14)} Q${f1(cx)},${f1(cy + ry + 4)} ${f1(cx + sw)},${
    f1(cy + ry + 14)
  } L${f1(cx + sw * 0.8)},172 L${f1(cx - sw * 0.8)},172Z`;
  // Arms first, so the torso overlaps them.
  for (const s of [-1, 1]) {
    out.push(
      `<path fill="${look.clothes}" d="M${f1(cx + s * sw)},${f1(cy + ry + 14)} L${
        f1(cx + s * (sw + 12))
      },150 L${f1(cx + s * (sw + 4))},152 L${f1(cx + s * (sw * 0.8))},${f1(cy + ry + 40)}Z"/>`,
      `<circle fill="${look.skin}" cx="${f1(cx + s * (sw + 8))}" cy="155" r="6"/>`,
    );
  }
  out.push(`<path fill="${look.clothes}" d="${torso}"/>`);
  out.push(patternSvg(look, cx, cy + ry, sw, rng));
  // Neck.
  out.push(
    `<rect fill="${look.skin}" x="${f1(cx - 7)}" y="${f1(cy + ry - 6)}" width="14" height="16"/>`,
  );
  if (look.extras.has("lapels")) {
    out.push(
      `<path fill="#fafafa" d="M${f1(cx - 9)},${f1(cy + ry + 8)} L${f1(cx)},${f1(cy + ry + 38)} L${
        f1(cx + 9)
      },${f1(cy + ry + 8)}Z"/>`,
    );
  }
  if (look.extras.has("tie")) {
    out.push(
      `<path fill="${jitter(rng, "#b71c1c", 40)}" d="M${f1(cx - 3)},${f1(cy + ry + 9)} L${
        f1(cx + 3)
      },${f1(cy + ry + 9)} L${f1(cx + 5)},${f1(cy + ry + 40)} L${f1(cx)},${f1(cy + ry + 46)} L${
        f1(cx - 5)
      },${f1(cy + ry + 40)}Z"/>`,
    );
  }
  if (look.extras.has("bowtie")) {
    const bt = jitter(rng, rng.pick(["#c62828", "#1565c0", "#212121", "#6a1b9a"]), 20);
    out.push(
      `<path fill="${bt}" d="M${f1(cx)},${f1(cy + ry + 10)} l-9,-5 l0,10 Z M${f1(cx)},${
        f1(cy + ry + 10)
      } l9,-5 l0,10 Z"/>`,
    );
  }
  if (look.extras.has("necklace")) {
    for (let i = -3; i <= 3; i++) {
      out.push(
        `<circle fill="#fafafa" stroke-width="0.6" cx="${f1(cx + i * 3)}" cy="${
          f1(cy + ry + 10 + 3 - Math.abs(i) * 0.8)
        }" r="1.6"/>`,
      );
    }
  }
  if (look.extras.has("whistle")) {
    out.push(
      `<path fill="none" stroke-width="1" d="M${f1(cx - 8)},${f1(cy + ry + 8)} L${f1(cx)},${
        f1(cy + ry + 30)
      } L${f1(cx + 8)},${f1(cy + ry + 8)}"/><rect fill="#bdbdbd" x="${f1(cx - 4)}" y="${
        f1(cy + ry + 29)
      }" width="9" height="5" rx="2"/>`,
    );
  }
  // Hair behind the head, the head, then the face and the hair in front.
  out.push(hairSvg(look.hair, look.hairColor, cx, cy, rx, ry, rng, true));
  out.push(
    `<ellipse fill="${look.skin}" cx="${f1(cx - rx)}" cy="${f1(cy + 2)}" rx="4" ry="6"/>`,
    `<ellipse fill="${look.skin}" cx="${f1(cx + rx)}" cy="${f1(cy + 2)}" rx="4" ry="6"/>`,
    `<ellipse fill="${look.skin}" cx="${cx}" cy="${cy}" rx="${f1(rx)}" ry="${f1(ry)}"/>`,
  );
  out.push(faceSvg(recipe.eyes, look, cx, cy, rx, ry, rng));
  out.push(hairSvg(look.hair, look.hairColor, cx, cy, rx, ry, rng, false));
  if (look.extras.has("earrings")) {
    const ec = jitter(rng, rng.pick(["#fdd835", "#fafafa", "#e91e63"]), 20);
    out.push(
      `<circle fill="${ec}" stroke-width="0.8" cx="${f1(cx - rx - 1)}" cy="${
        f1(cy + 9)
      }" r="2.5"/><circle fill="${ec}" stroke-width="0.8" cx="${f1(cx + rx + 1)}" cy="${
        f1(cy + 9)
      }" r="2.5"/>`,
    );
  }
  out.push("</g>");
  return out.join("");
}

function patternSvg(look: Look, cx: number, neckY: number, sw: number, rng: Rng): string {
  const y0 = neckY + 14;
  const parts: string[] = [];
  switch (look.pattern) {
    case "stripes":
      for (let y = y0 + 10; y < 170; y += 16) {
        const half = sw - ((y - y0) / (172 - y0)) * sw * 0.2;
        parts.push(
          `<rect fill="${look.clothes2}" stroke="none" x="${f1(cx - half)}" y="${f1(y)}" width="${
            f1(2 * half)
          }" height="7"/>`,
        );
      }
      break;
    case "vstripe":
      parts.push(
        `<rect fill="${look.clothes2}" stroke="none" x="${f1(cx - 6)}" y="${
          f1(y0)
        }" width="12" height="${f1(172 - y0)}"/>`,
      );
      break;
    case "dots":
      for (let i = 0; i < 10; i++) {
        parts.push(
          `<circle fill="${look.clothes2}" stroke="none" cx="${
            f1(cx + rng.uniform(-sw * 0.75, sw * 0.75))
          }" cy="${f1(rng.uniform(y0 + 8, 165))}" r="${f1(rng.uniform(2.5, 5))}"/>`,
        );
      }
      break;
    case "collar":
      parts.push(
        `<path fill="${look.clothes2}" d="M${f1(cx - 14)},${f1(y0 - 6)} L${f1(cx)},${
          f1(y0 + 10)
        } L${f1(cx + 14)},${f1(y0 - 6)} L${f1(cx + 4)},${f1(y0 - 8)} L${f1(cx)},${f1(y0)} L${
          f1(cx - 4)
        },${f1(y0 - 8)}Z"/>`,
      );
      break;
    case "solid":
      break;
  }
  if (look.extras.has("sglyph")) {
    parts.push(
      `<path fill="none" stroke="${INK}" stroke-width="4" d="M${f1(cx + 8)},${
        f1(y0 + 20)
      } q-8,-8 -14,0 q-4,8 6,10 q10,3 5,11 q-6,7 -14,-1"/>`,
    );
  }
  if (look.extras.has("apron")) {
    parts.push(
      `<rect fill="#fafafa" x="${f1(cx - sw * 0.6)}" y="${f1(y0 + 18)}" width="${
        f1(sw * 1.2)
      }" height="${f1(172 - y0 - 18)}" rx="4"/>`,
    );
  }
  if (look.extras.has("straps")) {
    parts.push(
      `<path fill="none" stroke="${jitter(rng, "#37474f", 20)}" stroke-width="5" d="M${
        f1(cx - sw * 0.5)
      },${f1(y0)} L${f1(cx - sw * 0.4)},172 M${f1(cx + sw * 0.5)},${f1(y0)} L${
        f1(cx + sw * 0.4)
      },172"/>`,
    );
  }
  if (look.extras.has("stains")) {
    for (let i = 0; i < 5; i++) {
      parts.push(
        `<circle fill="${jitter(rng, "#a1887f", 30)}" stroke="none" cx="${
          f1(cx + rng.uniform(-sw * 0.5, sw * 0.5))
        }" cy="${f1(rng.uniform(y0 + 25, 165))}" r="${f1(rng.uniform(2, 4))}"/>`,
      );
    }
  }
  return parts.join("");
}

function faceSvg(
  eyes: Recipe["eyes"],
  look: Look,
  cx: number,
  cy: number,
  rx: number,
  ry: number,
  rng: Rng,
): string {
  const out: string[] = [];
  const ex = rx * 0.42, ey = cy - ry * 0.08;
  const look_ = rng.uniform(-2, 2); // gaze
  for (const s of [-1, 1]) {
    const x = cx + s * ex;
    switch (eyes) {
      case "dots":
        out.push(
          `<ellipse fill="${INK}" stroke="none" cx="${f1(x + look_)}" cy="${
            f1(ey)
          }" rx="2" ry="3"/>`,
        );
        break;
      case "ovals":
        out.push(
          `<ellipse fill="#ffffff" stroke-width="1" cx="${f1(x)}" cy="${
            f1(ey)
          }" rx="4.5" ry="5.5"/>`,
          `<circle fill="${INK}" stroke="none" cx="${f1(x + look_)}" cy="${f1(ey + 1)}" r="2"/>`,
        );
        break;
      case "lashes":
        out.push(
          `<ellipse fill="#ffffff" stroke-width="1" cx="${f1(x)}" cy="${f1(ey)}" rx="4" ry="5.5"/>`,
          `<circle fill="${jitter(rng, "#1e88e5", 40)}" stroke="none" cx="${f1(x + look_)}" cy="${
            f1(ey + 1)
          }" r="2.4"/>`,
          `<path fill="none" stroke-width="1.2" d="M${f1(x - 4)},${f1(ey - 4)} l-3,-3 M${f1(x)},${
            f1(ey - 5.5)
          } l0,-3.5 M${f1(x + 4)},${f1(ey - 4)} l3,-3"/>`,
        );
        break;
      case "sleepy":
        out.push(
          `<path fill="#ffffff" stroke-width="1" d="M${f1(x - 5)},${
            f1(ey)
          } q5,-4 10,0 q-5,4 -10,0Z"/>`,
          `<path fill="none" stroke-width="1.6" d="M${f1(x - 5.5)},${f1(ey - 0.5)} l11,0"/>`,
        );
        break;
    }
  }
  // Nose and mouth.
  out.push(
    `<path fill="none" stroke-width="1.2" d="M${f1(cx + 1)},${f1(cy + ry * 0.1)} q4,${
      f1(ry * 0.2)
    } -1,${f1(ry * 0.25)}"/>`,
  );
  const my = cy + ry * 0.55, mw = rx * rng.uniform(0.3, 0.55), smile = rng.uniform(-2, 7);
  if (rng.chance(0.3)) {
    out.push(
      `<path fill="#7b1f1f" stroke-width="1.2" d="M${f1(cx - mw)},${f1(my)} q${f1(mw)},${
        f1(smile + 6)
      } ${f1(2 * mw)},0Z"/>`,
    );
  } else {
    out.push(
      `<path fill="none" stroke-width="1.4" d="M${f1(cx - mw)},${f1(my)} q${f1(mw)},${f1(smile)} ${
        f1(2 * mw)
      },0"/>`,
    );
  }
  if (look.extras.has("teeth")) {
    out.push(
      `<rect fill="#ffffff" stroke-width="0.8" x="${f1(cx - 4)}" y="${
        f1(my)
      }" width="4" height="5"/>`,
      `<rect fill="#ffffff" stroke-width="0.8" x="${f1(cx)}" y="${f1(my)}" width="4" height="5"/>`,
    );
  }
  if (look.extras.has("mustache")) {
    out.push(
      `<path fill="${look.hairColor}" stroke-width="1" d="M${f1(cx)},${
        f1(my - 5)
      } q-8,-4 -13,3 q7,-1 13,0 q6,-1 13,0 q-5,-7 -13,-3Z"/>`,
    );
  }
  if (look.extras.has("freckles")) {
    for (const s of [-1, 1]) {
      for (let i = 0; i < 3; i++) {
        out.push(
          `<circle fill="#b5651d" stroke="none" cx="${f1(cx + s * (ex + i * 2.5 - 2))}" cy="${
            f1(ey + 8 + (i % 2) * 2)
          }" r="0.9"/>`,
        );
      }
    }
  }
  if (look.extras.has("glasses")) {
    out.push(
      `<g fill="#ffffff" fill-opacity="0.25" stroke-width="1.8"><circle cx="${f1(cx - ex)}" cy="${
        f1(ey)
      }" r="7"/><circle cx="${f1(cx + ex)}" cy="${f1(ey)}" r="7"/><path fill="none" d="M${
        f1(cx - ex + 7)
      },${f1(ey)} L${f1(cx + ex - 7)},${f1(ey)}"/></g>`,
    );
  }
  return out.join("");
}
