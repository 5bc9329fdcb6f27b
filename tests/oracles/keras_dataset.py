"""Oracle for the image loader: Keras 3 `image_dataset_from_directory` itself.

Reads one JSON request on stdin, writes one JSON answer on stdout.

Requests (field "op"):
- "index": {directory, kwargs}: calls image_dataset_from_directory(directory,
  **kwargs) (camelCase kwargs are not accepted: pass Keras names) and returns
  {"datasets": [{"file_paths", "class_names", "labels"}...]} or {"error": msg}.
  Labels are read back from the dataset in file order (shuffle is taken from
  kwargs, so the caller passes shuffle=False for in-order labels, or we rebuild
  them from the same seeded index when shuffle=True).
- "pixels": {files, channels, image_size, crop, pad, interpolation}: runs
  Keras' own `_load_image_tf` on each file; returns base64 float32 arrays.
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
    from keras.src.utils import dataset_utils
    from keras.src.utils import image_dataset_utils as idu

    kwargs = dict(req.get("kwargs", {}))
    kwargs.setdefault("verbose", False)
    directory = req["directory"]
    try:
        result = idu.image_dataset_from_directory(directory, **kwargs)
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
    json.dump(ops[req["op"]](req), sys.stdout)


if __name__ == "__main__":
    main()
