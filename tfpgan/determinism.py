"""--deterministic: the same command on the same machine type gives the same numbers, bit for bit.

TensorFlow's op determinism, thread pools of a fixed size (a parallel reduction's result depends on how many threads
split it), and Python, NumPy, TensorFlow and Keras seeded. It must run before TensorFlow executes its first op.
Floating-point results can still differ between CPU families (instruction sets) and package versions.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

THREADS = 2  # intra-op threads of a deterministic run, whatever the machine has (the reference CI has 2 cores)


def configure(deterministic: bool, seed: int) -> None:
    """With `deterministic`, switch the process to deterministic execution seeded with `seed`; else nothing."""
    if not deterministic:
        return
    import keras
    import tensorflow as tf

    threading = tf.config.threading
    try:
        threading.set_inter_op_parallelism_threads(1)
        threading.set_intra_op_parallelism_threads(THREADS)
    except RuntimeError:  # TensorFlow already running in this process: keep its pools, say so
        if (threading.get_inter_op_parallelism_threads(), threading.get_intra_op_parallelism_threads()) != (1, THREADS):
            logger.warning("TensorFlow was initialized before --deterministic: thread pools not fixed, so results "
                           "are reproducible only on machines with the same core count")
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)
    logger.info("deterministic execution: op determinism, %d intra-op thread(s), seed %d", THREADS, seed)
