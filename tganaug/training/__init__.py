"""tGAN training: losses, augmentation, data sampling, resumable loops.

Entry points: :class:`~tganaug.training.trainer.LowResTrainer`, :class:`~tganaug.training.trainer.SRTrainer`
(or :func:`~tganaug.training.trainer.make_trainer`), and the CLI ``tganaug train lowres|sr``.
"""
