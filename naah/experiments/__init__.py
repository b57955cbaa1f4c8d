"""The report's experiments, as functions the notebooks call.

Each figure of the report has a function here; ``notebooks/`` only calls them.

* :mod:`.setup` — :func:`notebook_config`: pretrained weights or small fixture
  weights, image size, iterations (``$NAAH_NOTEBOOK_TINY=1`` for CI).
* :mod:`.data` — the report's images in ``data/`` (:func:`image_path`).
* :mod:`.runner` — :class:`PreparedPair`: one compiled loss, many runs.
* :mod:`.optimizers` — GD vs Adam vs L-BFGS on one budget (Figure 11 and the
  comparison table); :func:`iterations_to_match` (Figure 6).
* :mod:`.sweep` — grids of α/β or any other settings, saved with JSON (Figure 8).
* :mod:`.reconstruction` — content and style reconstructions per layer
  (Figures 2 and 7).
* :mod:`.training`, :mod:`.datasets` — VGG-19 trained from scratch on a small
  labelled image set (Figure 3).
* :mod:`.figures` — image grids, accuracy curves, text tables.

Needs the ``experiments`` extra (matplotlib, scikit-learn).
"""

from naah.experiments.data import image_path, picasso_message, picasso_path
from naah.experiments.datasets import (
    ImageSet,
    digits_image_set,
    load_image_folder,
    write_image_folder,
)
from naah.experiments.figures import (
    format_table,
    image_grid,
    plot_accuracy,
    progression_figure,
)
from naah.experiments.optimizers import (
    MatchResult,
    OptimizerRun,
    compare_optimizers,
    comparison_table,
    iterations_to_match,
    match_figure,
    plot_comparison,
)
from naah.experiments.reconstruction import (
    RECONSTRUCTION_LAYERS,
    Reconstruction,
    reconstruct_content,
    reconstruct_style,
    reconstruction_figure,
)
from naah.experiments.runner import PreparedPair
from naah.experiments.setup import NotebookConfig, notebook_config
from naah.experiments.sweep import (
    Sweep,
    SweepPoint,
    load_sweep,
    parameter_grid,
    sweep,
    sweep_figure,
)
from naah.experiments.training import (
    EpochRecord,
    TrainingResult,
    random_vgg19_weights,
    train_vgg19,
)

__all__ = [
    "RECONSTRUCTION_LAYERS",
    "EpochRecord",
    "ImageSet",
    "MatchResult",
    "NotebookConfig",
    "OptimizerRun",
    "PreparedPair",
    "Reconstruction",
    "Sweep",
    "SweepPoint",
    "TrainingResult",
    "compare_optimizers",
    "comparison_table",
    "digits_image_set",
    "format_table",
    "image_grid",
    "image_path",
    "iterations_to_match",
    "load_image_folder",
    "load_sweep",
    "match_figure",
    "notebook_config",
    "parameter_grid",
    "picasso_message",
    "picasso_path",
    "plot_accuracy",
    "plot_comparison",
    "progression_figure",
    "random_vgg19_weights",
    "reconstruct_content",
    "reconstruct_style",
    "reconstruction_figure",
    "sweep",
    "sweep_figure",
    "train_vgg19",
    "write_image_folder",
]
