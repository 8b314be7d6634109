"""NetTrain: train a net in one call.

``NetTrain(net, data)`` returns the trained net; ``NetTrain(net, data, All)`` a
:class:`NetTrainResults` with Wolfram's properties; ``NetTrain(net, data, "LossPlot")`` one of
them. Options (snake_case of Wolfram's): ``loss_function``, ``batch_size``,
``max_training_rounds``, ``time_goal`` (seconds), ``validation_set`` (data or ``Scaled(0.1)``),
``method`` ("ADAM", "AdamW", "SGD", "RMSProp", with suboptions), ``learning_rate``,
``learning_rate_multipliers``, ``training_progress_reporting``,
``training_progress_measurements``, ``training_stopping_criterion``,
``training_progress_checkpointing``, ``random_seeding``, ``target_device``,
``working_precision`` ("Real32", "Real64", "Mixed": bfloat16 autocast),
``cache_frozen_features`` (Automatic: a front frozen by ``learning_rate_multipliers`` is
evaluated once per example and the rest trained on its output, see :mod:`symnet.train.caching`;
False: never), ``bucketing`` (Automatic: batches of sequences of similar length when that
saves padding, see :mod:`symnet.train.sequences`; True, False) and ``compile`` (True: each
training step's forward pass and losses as one ``torch.compile`` graph, see
:mod:`symnet.train.compiled`; off by default, as it has not paid on CPUs),
and ``parallelism`` (with several processes: "DDP", the default, or "FSDP", which shards the
arrays, gradients and optimizer state over them, see :mod:`symnet.train.sharded`).
NetTrain picks the fast paths itself (fused optimizer kernels, the channels-last memory format)
and lists them in ``results["AutomaticChoices"]``.
"""

from .arrays import with_leaf_arrays
from .loop import NetTrain
from .results import NetTrainResults

__all__ = ["NetTrain", "NetTrainResults", "with_leaf_arrays"]
