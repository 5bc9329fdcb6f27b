"""scikit-learn / numpy oracle for tests/metrics_test.ts.

stdin: {"cases": [{"yTrue": [...], "yPred": [...], "k": int}],
        "regressions": [{"x": [...], "y": [...], "nBoot": int, "ci": float,
                         "gridSize": int, "seed": int, "logx": bool}]}
stdout: the same lists with scikit-learn's answers (labels=range(k)), and
seaborn regplot's band computed the seaborn way (numpy pinv fits, numpy
percentiles) on resamples drawn with the same generator (lib/random's seededRandom) as
lib/metrics, so only the arithmetic is compared, not the random draws.
"""
import json
import sys
import warnings

import numpy as np
from sklearn import metrics

warnings.filterwarnings("ignore")


def case(c):
    yt, yp, k = np.array(c["yTrue"], dtype=int), np.array(c["yPred"], dtype=int), c["k"]
    labels = list(range(k))
    p, r, f, s = metrics.precision_recall_fscore_support(yt, yp, labels=labels, average=None)
    out = {
        "cm": metrics.confusion_matrix(yt, yp, labels=labels).tolist(),
        "cmTrue": metrics.confusion_matrix(yt, yp, labels=labels, normalize="true").tolist(),
        "cmPred": metrics.confusion_matrix(yt, yp, labels=labels, normalize="pred").tolist(),
        "cmAll": metrics.confusion_matrix(yt, yp, labels=labels, normalize="all").tolist(),
        "precision": p.tolist(),
        "recall": r.tolist(),
        "f1": f.tolist(),
        "support": s.tolist(),
        "accuracy": float(metrics.accuracy_score(yt, yp)),
        "balancedAccuracy": float(metrics.balanced_accuracy_score(yt, yp)),
        "mcc": float(metrics.matthews_corrcoef(yt, yp)),
    }
    for avg in ("macro", "micro", "weighted"):
        ap, ar, af, _ = metrics.precision_recall_fscore_support(
            yt, yp, labels=labels, average=avg
        )
        out[avg] = {"precision": float(ap), "recall": float(ar), "f1": float(af)}
    out["report"] = metrics.classification_report(
        yt, yp, labels=labels, target_names=[f"c{i}" for i in labels], output_dict=True
    )
    out["reportText"] = metrics.classification_report(
        yt, yp, labels=labels, target_names=[f"c{i}" for i in labels]
    )
    return out


M32 = 0xFFFFFFFF


def imul(x, y):
    return (x * y) & M32


def hash_seed(*parts):
    """lib/random's hashSeed (cyrb128-style) of numbers ("#n") and strings ("$s")."""
    h1, h2, h3, h4 = 1779033703, 3144134277, 1013904242, 2773480762
    text = "\u0000".join(f"#{p}" if isinstance(p, int) else f"${p}" for p in parts)
    for ch in text.encode("utf-16-le").decode("utf-16-le"):
        k = ord(ch)
        h1 = h2 ^ imul(h1 ^ k, 597399067)
        h2 = h3 ^ imul(h2 ^ k, 2869860233)
        h3 = h4 ^ imul(h3 ^ k, 951274213)
        h4 = h1 ^ imul(h4 ^ k, 2716044179)
    h1 = imul(h3 ^ (h1 >> 18), 597399067)
    h2 = imul(h4 ^ (h2 >> 22), 2869860233)
    h3 = imul(h1 ^ (h3 >> 17), 951274213)
    h4 = imul(h2 ^ (h4 >> 19), 2716044179)
    h1 ^= h2 ^ h3 ^ h4
    h2 ^= h1
    h3 ^= h1
    h4 ^= h1
    return h1, h2, h3, h4


def seeded_random(*seed):
    """lib/random's seededRandom: sfc32 seeded with hash_seed, 12 draws discarded."""
    a, b, c, d = hash_seed(*seed)

    def rand():
        nonlocal a, b, c, d
        t = (a + b + d) & M32
        d = (d + 1) & M32
        a = b ^ (b >> 9)
        b = (c + (c << 3)) & M32
        r = ((c << 21) | (c >> 11)) & M32
        c = (r + t) & M32
        return t / 4294967296

    for _ in range(12):
        rand()
    return rand


def regression(c):
    # seaborn.regression._RegressionPlotter.fit_fast, with the resampling
    # indices drawn from lib/random's seededRandom as lib/metrics does.
    x, y = np.asarray(c["x"], float), np.asarray(c["y"], float)
    xs = np.log(x) if c["logx"] else x
    grid = np.linspace(x.min(), x.max(), c["gridSize"])
    gx = np.log(grid) if c["logx"] else grid
    X = np.c_[np.ones(len(xs)), xs]
    G = np.c_[np.ones(len(gx)), gx]
    beta = np.linalg.pinv(X) @ y
    rand = seeded_random(c["seed"])
    n = len(x)
    boots = []
    for _ in range(c["nBoot"]):
        idx = np.array([int(rand() * n) for _ in range(n)])
        boots.append(np.linalg.pinv(X[idx]) @ y[idx])
    yb = G @ np.array(boots).T
    lo, hi = np.percentile(yb, [50 - c["ci"] / 2, 50 + c["ci"] / 2], axis=1)
    return {
        "intercept": float(beta[0]),
        "slope": float(beta[1]),
        "r": float(np.corrcoef(xs, y)[0, 1]) if np.std(xs) > 0 and np.std(y) > 0 else None,
        "grid": grid.tolist(),
        "yhat": (G @ beta).tolist(),
        "lower": lo.tolist(),
        "upper": hi.tolist(),
    }


inp = json.load(sys.stdin)
json.dump(
    {
        "cases": [case(c) for c in inp.get("cases", [])],
        "regressions": [regression(c) for c in inp.get("regressions", [])],
    },
    sys.stdout,
)
