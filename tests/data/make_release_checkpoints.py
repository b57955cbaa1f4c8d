"""How tests/data/release-*.ckpt were written: with naah at git ff4d0cd (the
release before the settings model), for test_checkpointing.py's compatibility
test. Run from that checkout, with PyTensor's C code at -O0 as the tests compile
it (float32 results depend on the compiler's flags):

    PYTENSOR_FLAGS=gcc__cxxflags=-O0 PYTHONPATH=. python make_release_checkpoints.py OUT
"""

import sys
from pathlib import Path

IMAGES = Path(__file__).resolve().parents[2] / "data"
SHALLOW = {"content_layers": ("conv2_1",), "style_layers": ("conv1_1", "conv2_1")}


def main(out: Path) -> None:
    from naah import StyleTransfer
    from naah.testing import write_vgg19_mat

    weights = write_vgg19_mat(out / "vgg19.mat")
    content = IMAGES / "tubingen.jpg"
    plain = StyleTransfer(weights, **SHALLOW)
    plain.run(content, IMAGES / "starry_night.jpg", iterations=4, size=16,
              checkpoint=out / "release-lbfgs.ckpt", progress=False)  # fmt: skip

    def stop(record, image):
        if record.iteration == 4:
            raise KeyboardInterrupt

    adam = StyleTransfer(weights, optimizer="adam", learning_rate=5.0, **SHALLOW)
    styles = [IMAGES / "starry_night.jpg", IMAGES / "shipwreck.jpg"]
    try:
        adam.run(content, styles, style_blend=(0.7, 0.3), scales=(12, 16),
                 iterations=(3, 3), checkpoint=out / "release-adam-scales.ckpt",
                 progress=False, callback=stop)  # fmt: skip
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(Path(sys.argv[1]))
