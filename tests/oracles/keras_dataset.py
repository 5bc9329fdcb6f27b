"""Oracle for the image loader: Keras 3 `image_dataset_from_directory` itself.

Reads one JSON request on stdin, writes one JSON answer on stdout.

Requests (field "op"):
- "index": {directory, cases: [kwargs...]}: for each case calls
  image_dataset_from_directory(directory, **kwargs) (Keras argument names) and
  returns {"results": [{"datasets": [{"file_paths", "class_names", "labels",
  "cardinality"}...]} or {"error": msg}]}. Labels per file in Keras' order
  before per-epoch shuffling come from the same seeded `index_directory` call
  Keras makes (asserted to give the dataset's `file_paths`).
- "pixels": {files, channels, image_size, crop, pad, interpolation}: runs
  Keras' own `_load_image_tf` on each file; returns base64 float32 arrays.
  {jobs: [request...]} runs several and returns {"results": [...]}.
- "decode": {files, channels}: tf.image.decode_image(channels, expand_animations
  =False); returns base64 uint8 arrays with their shapes.
- "shuffle": {n, seed}: np.random.RandomState(seed).shuffle(list(range(n))).
"""

import base64
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402


def b64(arr):
    return base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode("ascii")


def op_shuffle(req):
    out = []
    for n, seed in req["cases"]:
        a = list(range(n))
        np.random.RandomState(seed).shuffle(a)
        out.append(a)
    return {"orders": out}


def op_index(req):
    return {"results": [index_case(req["directory"], kw) for kw in req["cases"]]}


def index_case(directory, kwargs):
    from keras.src.utils import dataset_utils
    from keras.src.utils import image_dataset_utils as idu

    kwargs = dict(kwargs)
    kwargs.setdefault("verbose", False)
    if "image_size" in kwargs:
        kwargs["image_size"] = tuple(kwargs["image_size"])
    try:
        # Keras shuffles a `labels` list in place: give it a copy
        result = idu.image_dataset_from_directory(
            directory, **{k: (list(v) if k == "labels" and isinstance(v, list) else v) for k, v in kwargs.items()}
        )
    except Exception as e:  # noqa: BLE001
        return {"error": f"{type(e).__name__}: {e}"}
    datasets = result if isinstance(result, list) else [result]
    # Labels per file in Keras' pre-epoch order: recompute the index exactly as
    # image_dataset_from_directory does (same seed), then split the same way.
    labels_arg = kwargs.get("labels", "inferred")
    label_mode = kwargs.get("label_mode", "int")
    if labels_arg is None or label_mode is None:
        labels_arg = None
    paths, labels, _ = dataset_utils.index_directory(
        directory,
        labels_arg,
        formats=idu.ALLOWLIST_FORMATS,
        class_names=kwargs.get("class_names"),
        shuffle=kwargs.get("shuffle", True),
        seed=kwargs.get("seed"),
        follow_links=kwargs.get("follow_links", False),
        verbose=False,
    )
    subset = kwargs.get("subset")
    subsets = ["training", "validation"] if subset == "both" else [subset]
    out = []
    for ds, sub in zip(datasets, subsets):
        p, lab = dataset_utils.get_training_or_validation_split(
            paths, labels, kwargs.get("validation_split"), sub
        )
        assert list(p) == list(ds.file_paths), "oracle index mismatch"
        out.append(
            {
                "file_paths": list(ds.file_paths),
                "class_names": ds.class_names,
                "labels": None if lab is None else [int(v) for v in lab],
                "cardinality": int(ds.cardinality().numpy()),
            }
        )
    return {"datasets": out}


def op_pixels(req):
    if "jobs" in req:
        return {"results": [op_pixels(job) for job in req["jobs"]]}
    from keras.src.utils import image_dataset_utils as idu

    out = []
    for f in req["files"]:
        try:
            img = idu._load_image_tf(
                f,
                tuple(req["image_size"]),
                req["channels"],
                req.get("interpolation", "bilinear"),
                "channels_last",
                crop_to_aspect_ratio=req.get("crop", False),
                pad_to_aspect_ratio=req.get("pad", False),
            )
            arr = np.asarray(img, dtype=np.float32)
            out.append({"shape": list(arr.shape), "data": b64(arr)})
        except Exception as e:  # noqa: BLE001
            out.append({"error": f"{type(e).__name__}: {e}"})
    return {"images": out}


def op_decode(req):
    import tensorflow as tf

    out = []
    for f in req["files"]:
        try:
            img = tf.image.decode_image(
                tf.io.read_file(f), channels=req["channels"], expand_animations=False
            )
            arr = img.numpy()
            out.append({"shape": list(arr.shape), "dtype": str(arr.dtype), "data": b64(arr)})
        except Exception as e:  # noqa: BLE001
            out.append({"error": f"{type(e).__name__}: {e}"})
    return {"images": out}


def main():
    req = json.load(sys.stdin)
    ops = {"shuffle": op_shuffle, "index": op_index, "pixels": op_pixels, "decode": op_decode}
    out = sys.stdout
    sys.stdout = sys.stderr  # Keras prints "Using N files for training." even when not verbose
    try:
        result = ops[req["op"]](req)
    finally:
        sys.stdout = out
    json.dump(result, out)


if __name__ == "__main__":
    main()
