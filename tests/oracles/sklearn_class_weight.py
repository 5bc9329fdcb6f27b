"""Oracle: scikit-learn's compute_class_weight.

stdin: one request {"method": "balanced", "classes": [0, 1, ...], "y": [labels...]}
       or a list of them.
stdout: the weights of classes[0], classes[1], ... (a list of such lists for a list).
"""
import json
import sys

import numpy as np
from sklearn.utils.class_weight import compute_class_weight


def weights(req):
    w = compute_class_weight(
        req.get("method", "balanced"),
        classes=np.asarray(req["classes"]),
        y=np.asarray(req["y"]),
    )
    return [float(v) for v in w]


req = json.load(sys.stdin)
json.dump([weights(r) for r in req] if isinstance(req, list) else weights(req), sys.stdout)
