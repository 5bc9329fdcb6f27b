"""scikit-learn / numpy oracle for tests/metrics_test.ts.

stdin: {"cases": [{"yTrue": [...], "yPred": [...], "k": int}],
        "regressions": [{"x": [...], "y": [...], "nBoot": int, "ci": float,
                         "gridSize": int, "seed": int, "logx": bool}]}
stdout: the same lists with scikit-learn's answers (labels=range(k)), and
seaborn regplot's band computed the seaborn way (numpy pinv fits, numpy
percentiles) on resamples drawn with the same mulberry32 generator as
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


def mulberry32(seed):
    a = seed & 0xFFFFFFFF

    def imul(x, y):
        return (x * y) & 0xFFFFFFFF

    def rand():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return rand


def regression(c):
    # seaborn.regression._RegressionPlotter.fit_fast, with the resampling
    # indices drawn from mulberry32 as lib/metrics does.
    x, y = np.asarray(c["x"], float), np.asarray(c["y"], float)
    xs = np.log(x) if c["logx"] else x
    grid = np.linspace(x.min(), x.max(), c["gridSize"])
    gx = np.log(grid) if c["logx"] else grid
    X = np.c_[np.ones(len(xs)), xs]
    G = np.c_[np.ones(len(gx)), gx]
    beta = np.linalg.pinv(X) @ y
    rand = mulberry32(c["seed"])
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
