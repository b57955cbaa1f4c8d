r"""Video with temporal consistency: Ruder, Dosovitskiy & Brox (2016), "Artistic
style transfer for videos" (GCPR; arXiv 1604.08610).

Stylising each frame of a clip on its own flickers: the optimisation finds a
different local minimum each time. Ruder et al. tie each frame to the ones
before it, through the optical flow of the input:

* each frame starts from the previous frame's result, warped onto it;
* a temporal loss :math:`\gamma \mathcal{L}_{temporal}` pulls it towards that
  warped result where the flow is reliable (:class:`naah.terms.TemporalTerm`;
  the per-pixel weights c from the forward–backward consistency check,
  :func:`naah.flow.consistency`);
* long-term consistency compares with frames further back too (offsets J, with
  weights :math:`c_{long}`, :func:`naah.flow.long_term_weights`);
* multi-pass goes over the clip forward and backward, each frame starting from
  its last result blended with its neighbour's.

The package, by what each module holds:

* :mod:`.settings`: :class:`VideoSettings`, the settings a single image has not;
* :mod:`.schedule`: the order of the steps (pass, frame, earlier frames);
* :mod:`.work`: the work folder and its manifest, so no work is done twice;
* :mod:`.runner`: :func:`run_video`, one style-transfer run per step.
"""

from naah.video_transfer.runner import FrameReport, VideoResult, run_video
from naah.video_transfer.settings import VIDEO_INITS, VideoSettings
from naah.video_transfer.work import WorkMismatch

__all__ = [
    "VIDEO_INITS",
    "FrameReport",
    "VideoResult",
    "VideoSettings",
    "WorkMismatch",
    "run_video",
]
