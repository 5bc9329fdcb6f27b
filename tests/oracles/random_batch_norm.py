"""Non-trivial BatchNormalization parameters for the Keras oracles
(keras_resnet.py, keras_export.py): random gamma/beta, then moving statistics
taken from a calibration batch, so that every layer's output stays well scaled
(fresh statistics of 0 and 1 would test nothing; statistics from unrelated
inputs would put deep features, and the softmax, far off scale)."""

import keras


def randomize_batch_norm(model, rng, calibration):
    """Per BatchNormalization layer of `model`, in order: gamma ~ U(0.5, 1.5),
    beta ~ N(0, 0.2) from `rng`; then one training-mode call on
    `calibration(rng)` (drawn after gamma/beta) with momentum 0, so the moving
    mean/variance become that batch's. Layers are made trainable (a frozen
    Keras 3 BatchNormalization ignores training=True) and left so; momentum
    goes back to 0.99."""
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for bn in bns:
        c = bn.gamma.shape[0]
        bn.gamma.assign(rng.uniform(0.5, 1.5, c).astype("float32"))
        bn.beta.assign(rng.normal(0, 0.2, c).astype("float32"))
        bn.momentum = 0.0
        bn.trainable = True
    model(calibration(rng), training=True)
    for bn in bns:
        bn.momentum = 0.99
