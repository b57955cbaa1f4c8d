"""Write the notebooks of this folder (outputs stripped) from the cells below.

Run ``python notebooks/build_notebooks.py`` after editing a notebook's cells here;
the experiment logic itself lives in :mod:`naah.experiments`.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}

SETUP = """\
%matplotlib inline
import naah
from naah.experiments import (
{imports}
){plotting}

config = notebook_config("{name}")
print(config.banner)"""


class Markdown(str):
    """A cell's text that is Markdown whatever it starts with (see :func:`build`)."""


def setup(*names: str, plotting: bool = False) -> str:
    """The first code cell: imports, the configuration and its banner."""
    extra = "\nfrom naah.plotting import plot_history" if plotting else ""
    imports = textwrap.fill(
        ", ".join(["notebook_config", *names]) + ",",
        width=84,
        initial_indent="    ",
        subsequent_indent="    ",
    )
    return SETUP.replace("{imports}", imports).replace("{plotting}", extra)


MODES = """\
**Running it.** With the pretrained VGG-19 weights (`naah weights download`, or
`$NAAH_WEIGHTS`) the notebook makes the full-size figures (512 px, hundreds of
L-BFGS iterations: expect tens of minutes on a CPU). Without them the first cell
says so and everything runs on small random fixture weights at a small size, so the
images only show that the code runs. `NAAH_NOTEBOOK_TINY=1` shrinks it further for
CI. Figures are saved in `output/<notebook>/` (see `config.output_dir`)."""

NOTEBOOKS = {
    "01_training_fig3": [
        """\
# Figure 3: training VGG-19 from scratch

The report trained VGG-19 from random weights (mini-batch SGD with momentum 0.9,
dropout 0.5 after fc6 and fc7) on a small ten-category image set and plotted test
accuracy per epoch. Its images cannot be downloaded here, so this notebook uses
scikit-learn's ten handwritten digits upscaled to 32×32 RGB, and a narrow VGG-19 (all
19 weight layers, channels 8–64, fc 128) so that it trains on a CPU.

**Your own data:** `load_image_folder(path)` reads any folder laid out as
`class_name/*.jpg`.

**What to expect:** test accuracy starts at chance (10 %), stays there for an epoch
or two (a deep plain network starts slowly) and then climbs to roughly 90 % within
10–20 epochs (about 5 s per epoch on a laptop CPU). Pretrained weights play no part
here. `NAAH_NOTEBOOK_TINY=1` trains 2 epochs on 300 images: a smoke test only.""",
        setup(
            "digits_image_set",
            "format_table",
            "load_image_folder",
            "plot_accuracy",
            "train_vgg19",
            "write_image_folder",
        ),
        """\
# The digits, written as class folders and read back as any user folder would be.
digits = digits_image_set(size=32)
per_class = config.pick(full=1000, fixture=1000, tiny=30)
folder = write_image_folder(digits.take_per_class(per_class), config.output("digits"))
images = load_image_folder(folder, size=32)
train, test = images.split(test_fraction=0.2, seed=0)
print(f"{len(train)} training and {len(test)} test images, classes {images.class_names}")""",
        """\
def report(record):
    print(f"epoch {record.epoch:2d}: training loss {record.train_loss:.3f}, "
          f"test accuracy {record.test_accuracy:.1%}")

result = train_vgg19(
    train, test, epochs=config.pick(full=20, fixture=20, tiny=2),
    batch_size=32, learning_rate=0.01, momentum=0.9, dropout=0.5, seed=0,
    callback=report,
)""",
        """\
ax = plot_accuracy(result.history, config.output("fig3_accuracy.png"),
                   note="VGG-19 (narrow) trained from scratch on digits, 32 px")
ax.figure""",
        "print(format_table([vars(r) for r in result.history]))",
    ],
    "02_style_transfer_fig4_5": [
        """\
# Figures 4 and 5: Tübingen in the style of The Starry Night

Figure 4 is the photograph of the Neckarfront in Tübingen (Andreas Praefcke, CC BY
3.0) rendered in the style of van Gogh's *The Starry Night*: content from conv4_2,
style from conv1_1 … conv5_1, α/β = 10⁻³, L-BFGS from white noise. Figure 5 shows the
same run after 0, 5 and 10 L-BFGS iterations.

**What to expect** with the pretrained weights: after 10 iterations the noise already
carries the colours and swirls of the painting and a faint outline of the houses;
after a few hundred iterations the houses are clearly drawn with the painting's brush
strokes.""",
        MODES,
        setup("image_grid", "image_path", "progression_figure", plotting=True),
        """\
content, style = image_path("tubingen"), image_path("starry_night")
transfer = config.transfer()  # α = 1, β = 1e3; conv4_2; conv1_1 … conv5_1; L-BFGS
iterations = max(config.iterations, 10)
result = transfer.run(content, style, size=config.size, iterations=iterations,
                      snapshots=(0, 5, 10))""",
        """\
inputs = [naah.load_image(p, long_edge=config.size) for p in (content, style)]
image_grid([*inputs, result.image],
           ["content: Tübingen", "style: The Starry Night", f"{iterations} iterations"],
           note=f"Figure 4 ({config.label})", path=config.output("fig4.png"))""",
        """\
progression_figure(result, (0, 5, 10), note=f"Figure 5 ({config.label})",
                   path=config.output("fig5.png"))""",
        "plot_history(result.history, config.output('loss.png'), layers=True).figure",
    ],
    "03_optimizers_fig6_fig11": [
        """\
# Figures 6 and 11: L-BFGS, Adam and gradient descent

Figure 6 compares Adam and L-BFGS after 10 iterations on Tübingen in the style of
Turner's *The Shipwreck of the Minotaur*, and asks how many Adam iterations reach the
loss L-BFGS has after 10. Figure 11 plots the content and style losses per L-BFGS
iteration. A table then compares GD, Adam and L-BFGS on the same budget of
loss-and-gradient evaluations from several noise images.

**What to expect** with the pretrained weights: after 10 iterations L-BFGS has a
recognisable image while Adam's is still mostly noise; Adam needs many times more
iterations to reach the same loss. The style loss falls fastest at first; the content
loss first rises from noise's level, then falls. L-BFGS reaches the lowest loss for
the budget, then Adam, then GD.""",
        MODES,
        setup(
            "PreparedPair",
            "compare_optimizers",
            "comparison_table",
            "format_table",
            "image_path",
            "iterations_to_match",
            "match_figure",
            "plot_comparison",
            plotting=True,
        ),
        """\
# One compiled loss for every run of this notebook.
pair = PreparedPair(config.transfer(), image_path("tubingen"), image_path("shipwreck"),
                    size=config.size)
ADAM_LEARNING_RATE = 10.0  # pixel units; jcjohnson/neural-style's default for Adam""",
        """\
match = iterations_to_match(
    pair, reference_iterations=10, optimizer="adam", learning_rate=ADAM_LEARNING_RATE,
    max_iterations=config.pick(full=1000, fixture=500, tiny=20),
)
print(f"L-BFGS's loss after 10 iterations: {match.target_loss:.4g}; Adam reached it "
      f"after {match.iterations} iterations" if match.iterations else
      "Adam did not reach it within the iteration limit")
match_figure(match, note=f"Figure 6 ({config.label})", path=config.output("fig6.png"))""",
        """\
lbfgs = pair.run(config.iterations)  # Figure 11: losses per L-BFGS iteration
plot_history(lbfgs.history, config.output("fig11.png"), layers=True).figure""",
        """\
runs = compare_optimizers(
    pair, evaluations=config.pick(full=150, fixture=100, tiny=6),
    seeds=config.pick(full=(0, 1, 2), fixture=(0, 1, 2), tiny=(0,)),
    learning_rates={"adam": ADAM_LEARNING_RATE},
)
print(format_table([run.row() for run in runs]))
print()
print(format_table(comparison_table(runs)))""",
        """\
plot_comparison(runs, config.output("optimizers.png"), note=config.label).figure""",
    ],
    "04_reconstructions_fig2_fig7": [
        """\
# Figures 2 and 7: what each layer keeps

After Gatys et al.'s Figure 1 (the report's Figure 2): starting from white noise,
reconstruct Tübingen from the content loss at one layer alone (conv1_1 … conv5_1), and
The Starry Night's texture from the style loss of conv1_1 up to each of those layers.
Figure 7 is the content reconstruction from conv4_2, the content layer of the style
transfers (β = 0, no style layers).

**What to expect** with the pretrained weights: content from conv1_1 and conv2_1
gives the photograph back almost exactly; deeper layers keep the houses and their
arrangement but lose colours and fine detail. The style textures grow from fine
colour speckles (conv1_1) to large brush-stroke patterns (up to conv5_1).""",
        MODES,
        setup(
            "RECONSTRUCTION_LAYERS",
            "image_path",
            "reconstruct_content",
            "reconstruct_style",
            "reconstruction_figure",
        ),
        """\
weights, tubingen = config.vgg_weights(), image_path("tubingen")
sizes = dict(size=config.size, iterations=config.iterations)
content_recs = reconstruct_content(weights, tubingen, RECONSTRUCTION_LAYERS, **sizes)
reconstruction_figure(content_recs, note=f"content reconstructions ({config.label})",
                      path=config.output("fig2_content.png"))""",
        """\
style_recs = reconstruct_style(weights, image_path("starry_night"), **sizes)
reconstruction_figure(style_recs, note=f"style reconstructions ({config.label})",
                      path=config.output("fig2_style.png"))""",
        """\
(fig7,) = reconstruct_content(weights, tubingen, ["conv4_2"], **sizes)
reconstruction_figure([fig7], original=naah.load_image(tubingen, long_edge=config.size),
                      note=f"Figure 7 ({config.label})", path=config.output("fig7.png"))""",
    ],
    "05_alpha_beta_fig8": [
        """\
# Figure 8: the content/style trade-off α/β

Figure 8 renders Tübingen in the style of The Starry Night with α = 0.2 and
β = 10⁻⁶ or 10⁻⁵. A wider sweep then varies β over several orders of magnitude. Each
image is saved with a JSON file holding its settings and final losses.

**What to expect** with the pretrained weights: the larger β, the more the painting's
texture takes over; with small β the photograph stays almost unchanged apart from
colours. How small "small" is depends on the loss normalisation, so compare the
ratio α/β rather than the absolute values with other implementations.""",
        MODES,
        setup("Sweep", "format_table", "image_path", "sweep_figure"),
        """\
# Every α/β below shares one compiled loss.
sweeper = Sweep(image_path("tubingen"), image_path("starry_night"),
                weights=config.vgg_weights())
sizes = dict(size=config.size, iterations=config.iterations)
fig8 = sweeper.run({"alpha": [0.2], "beta": [1e-6, 1e-5]}, config.output("fig8"), **sizes)
sweep_figure(fig8, note=f"Figure 8 ({config.label})", path=config.output("fig8.png"))""",
        """\
betas = config.pick(full=[1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0],
                    fixture=[1e-6, 1e-4, 1e-2, 1.0], tiny=[1e-6, 1e-2])
wide = sweeper.run({"alpha": [0.2], "beta": betas}, config.output("sweep"), **sizes)
sweep_figure(wide, columns=4, note=config.label, path=config.output("sweep.png"))""",
        """\
print(format_table([{**p.settings, "loss": p.loss, "content": p.content,
                     "style": p.style, "file": p.image_path.name} for p in wide]))""",
    ],
    "06_kandinsky_picasso_fig9_10": [
        """\
# Figures 9 and 10: Kandinsky and Picasso

Tübingen in the style of Kandinsky's *Composition VII* (Figure 9) and of Picasso's
*Femme nue assise* (Figure 10). The Picasso is under copyright and not shipped with
naah: set `NAAH_PICASSO` to the path of your own image of it; without it, that
figure is skipped with a message.

**What to expect** with the pretrained weights: Composition VII's bright, broken
colour fields over the houses; the Picasso's cubist facets in brown and ochre.""",
        MODES,
        setup("image_grid", "image_path", "picasso_message", "picasso_path"),
        """\
transfer, tubingen = config.transfer(), image_path("tubingen")
kandinsky = transfer.run(tubingen, image_path("composition_vii"), size=config.size,
                         iterations=config.iterations)
image_grid([naah.load_image(image_path("composition_vii"), long_edge=config.size),
            kandinsky.image], ["style: Composition VII", "result"],
           note=f"Figure 9 ({config.label})", path=config.output("fig9.png"))""",
        """\
picasso = picasso_path()
if picasso is None:
    print(picasso_message())
else:
    result = transfer.run(tubingen, picasso, size=config.size,
                          iterations=config.iterations)
    display(image_grid([naah.load_image(picasso, long_edge=config.size), result.image],
                       ["style: Femme nue assise", "result"],
                       note=f"Figure 10 ({config.label})",
                       path=config.output("fig10.png")))""",
    ],
    "07_color_control": [
        Markdown("""\
# Colour control (Gatys et al. 2017, section 5)

Plain style transfer copies the style image's colours along with its brush strokes:
Tübingen comes out in the blues and yellows of *The Starry Night*. Gatys, Ecker,
Bethge, Hertzmann & Shechtman (2017), *Controlling Perceptual Factors in Neural Style
Transfer* (CVPR), section 5, keep the content's colours in two ways; tools also offer
a third, post-hoc one. In naah each is one keyword, `StyleTransfer(color=...)`
(`naah stylize --color ...`; the pieces are in `naah.color`, see `docs/color.md`):

| `color=` | what happens |
| --- | --- |
| `None` (default) | the usual transfer: the style's colours |
| `'luminance'` | section 5.1: transfer between luminance images only. The style's luminance Y gets the content's mean and standard deviation, the network sees `(Y, Y, Y)`, and the result's Y is joined to the content's chroma I, Q (NTSC YIQ) |
| `'histogram'` | section 5.2: the style image is first recoloured so that the mean and 3×3 covariance of its RGB values are the content's (`naah.color.match_color`; `color_match='pca'`, `'chol'` or `'sym'` picks the linear map), then transferred as usual |
| `'original'` | the usual transfer, then the result's luminance with the content's chroma (other tools' `--original-colors`) |

The notebook shows the three recolourings of the style image side by side, runs the
four modes on the same pair, and checks the chroma: the mean |ΔI| and |ΔQ| of each
result against the content.

**What to expect** with the pretrained weights: `None` paints the town in the
painting's colours; `luminance` and `original` keep the photograph's colours, with
|ΔI| and |ΔQ| below one grey level (rounding to 8 bits, and clipping where a bright Y
meets strong chroma), while `None` and `histogram` are tens of levels away. The three
match modes give the style image exactly the content's colour statistics; they differ
by a rotation of the colours (`sym` moves them least). As the paper says,
luminance-only transfer keeps the content's colours exactly but loses what ties the
style's colours to its brightness (strokes of different colours); colour matching
keeps those ties, and its colours are only as close as a mean-and-covariance match
gets."""),
        MODES,
        setup("format_table", "image_grid", "image_path"),
        """\
import numpy as np
from naah.color import MATCH_MODES, match_color, rgb_to_yiq

content_path, style_path = image_path("tubingen"), image_path("starry_night")
content = naah.load_image(content_path, long_edge=config.size)
style = naah.load_image(style_path, long_edge=config.size)
# Section 5.2's first step by each linear map: float32, not clipped.
recoloured = {mode: match_color(style, content, mode) for mode in MATCH_MODES}
image_grid([content, style, *recoloured.values()],
           ["content", "style", *(f"style, match_color {m!r}" for m in recoloured)],
           note=f"colour histogram matching ({config.label})",
           path=config.output("match_color.png"))""",
        """\
def rgb_statistics(image):
    pixels = np.asarray(image, np.float64).reshape(-1, 3)
    return pixels.mean(axis=0), np.cov(pixels, rowvar=False, bias=True)

mean, covariance = rgb_statistics(content)
print(format_table([
    {"match mode": mode,
     "max |Δ mean| (grey levels)": np.abs(rgb_statistics(image)[0] - mean).max(),
     "max |Δ covariance| / max covariance":
         np.abs(rgb_statistics(image)[1] - covariance).max() / covariance.max()}
    for mode, image in recoloured.items()
]))""",
        """\
# One StyleTransfer per colour mode, each compiling its loss once.
COLORS = (None, "luminance", "histogram", "original")
results = {
    color: config.transfer(color=color).run(
        content_path, style_path, size=config.size, iterations=config.iterations)
    for color in COLORS
}""",
        """\
image_grid([content, style, *(r.image for r in results.values())],
           ["content", "style", *(f"color={c!r}" for c in results)],
           note=f"colour control ({config.label})", path=config.output("color_modes.png"))""",
        """\
# Chroma kept? Mean absolute difference of each result's Y, I and Q from the
# content's, in grey levels (rounding to 8 bits alone gives about 0.15, clipping
# to 0–255 adds to it).
content_yiq = rgb_to_yiq(content.astype(np.float64))
rows = []
for color, result in results.items():
    gap = np.abs(rgb_to_yiq(result.image.astype(np.float64)) - content_yiq)
    dy, di, dq = gap.mean(axis=(0, 1))
    rows.append({"color": repr(color), "mean |ΔY|": dy, "mean |ΔI|": di,
                 "mean |ΔQ|": dq, "content's chroma": max(di, dq) < 1})
print(format_table(rows))""",
    ],
    "08_coarse_to_fine": [
        Markdown("""\
# Coarse to fine (Gatys et al. 2017, section 6)

VGG-19's receptive fields have a fixed size in pixels, so a transfer at 1024 px
sees the style's structures as smaller, relative to the image, than one at 512 px,
and every evaluation costs four times as much. Gatys, Ecker, Bethge, Hertzmann &
Shechtman (2017), section 6, go coarse to fine: transfer at a low resolution, then
upsample the result and use it as the start at the next one, where only the fine
detail is left to do.

In naah that is `run(content, style, scales=(256, 512, 1024), iterations=(500, 200,
100))` (`naah stylize --scales 256,512,1024 --iterations 500,200,100`; one iterations
value serves every scale). Each scale starts from the previous result upsampled, the
style image is resampled at each (`style_scale` kept relative), the one compiled loss
serves every scale, and the history's `scale` column says which scale each
iteration ran at. `live=True` shows the run in the notebook as it goes.

The notebook compares the two at **equal wall time**, as `benchmarks/bench_pyramid.py`
does: first the coarse-to-fine run, timed with `time.perf_counter` (the loss is
compiled before the clock starts), then the largest scale alone from white noise,
stopped at the first iteration past the same time (its callback raises
`naah.style_transfer.StopRun`). Both final losses are the largest scale's, so they
compare.

**What to expect** with the pretrained weights: most of the coarse-to-fine run's
iterations are cheap low-resolution ones, and its last scale starts from an image that
already has the painting's large structures, so it should end at a lower loss than
the run from noise, which in the same time does fewer iterations at full size: that
is the paper's claim, which this notebook measures. With fixture weights the numbers
only show that the code runs: their network is so narrow that an iteration costs
about the same at every size, so the pyramid saves no time."""),
        Markdown("""\
**Running it.** With the pretrained VGG-19 weights (`naah weights download`, or
`$NAAH_WEIGHTS`) the notebook runs 256 → 512 → 1024 px with 500, 200 and 100 L-BFGS
iterations, then 1024 px from noise for as long: about 45 minutes on a 2-core CPU
(one evaluation takes about 0.4 s at 256 px, 1.6 s at 512 px and 7 s at 1024 px) and
about 2.7 GB of memory at 1024 px (`docs/performance.md`). Without them the first cell says so and everything runs on small
random fixture weights at 48 → 96 px. `NAAH_NOTEBOOK_TINY=1` shrinks it further for
CI. Figures are saved in `output/<notebook>/` (see `config.output_dir`)."""),
        setup("format_table", "image_grid", "image_path", plotting=True),
        """\
import time
from naah.style_transfer import StopRun

content, style = image_path("tubingen"), image_path("starry_night")
scales = config.pick(full=(256, 512, 1024), fixture=(48, 96), tiny=(32, 48))
iterations = config.pick(full=(500, 200, 100), fixture=(40, 20), tiny=(8, 4))
transfer = config.transfer()  # one compiled loss for every scale and both runs
transfer.prepare(content, style, size=scales[0])  # compile before the clock starts
print(" → ".join(f"{s} px: {n} iterations" for s, n in zip(scales, iterations)))""",
        """\
start = time.perf_counter()
coarse_to_fine = transfer.run(content, style, scales=scales, iterations=iterations,
                              live=True)
coarse_to_fine_seconds = time.perf_counter() - start
print(f"coarse to fine: {coarse_to_fine_seconds:.1f} s")""",
        """\
def stop_at(deadline):  # a run callback: end the run at the first iteration past it
    def check(record, image):
        if time.perf_counter() > deadline:
            raise StopRun
    return check

start = time.perf_counter()
from_noise = transfer.run(content, style, size=scales[-1], iterations=10**6,
                          callback=stop_at(start + coarse_to_fine_seconds),
                          progress=False, live=True)
from_noise_seconds = time.perf_counter() - start
print(f"from noise at {scales[-1]} px: {from_noise_seconds:.1f} s")""",
        """\
def at_last_scale(result):  # the run from noise has no scale: all its records
    return [r for r in result.history if r.scale in (None, scales[-1])]

rows = []
for run, result, seconds in (("coarse to fine", coarse_to_fine, coarse_to_fine_seconds),
                             ("from noise", from_noise, from_noise_seconds)):
    last = at_last_scale(result)
    rows.append({"run": run, "wall time (s)": seconds,
                 f"iterations at {scales[-1]} px": last[-1].iteration - last[0].iteration,
                 "total loss": last[-1].total, "content": last[-1].content,
                 "style": last[-1].style})
print(f"Final losses at {scales[-1]} px, equal wall time ({config.label}):")
print(format_table(rows))""",
        """\
image_grid([naah.load_image(style, long_edge=scales[-1]), coarse_to_fine.image,
            from_noise.image],
           ["style", " → ".join(map(str, scales)) + " px", f"{scales[-1]} px from noise"],
           note=f"coarse to fine at equal wall time ({config.label})",
           path=config.output("coarse_to_fine.png"))""",
        """\
plot_history(coarse_to_fine.history, config.output("loss.png")).figure""",
    ],
    "09_normalized_vgg": [
        Markdown("""\
# Normalised VGG-19 weights (Gatys, Ecker & Bethge 2015)

Gatys et al. did not use VGG-19 as published: "We normalized the network by scaling
the weights such that the mean activation of each convolutional filter over images
and positions is equal to one." The report skipped this step. With m_l[o] the mean
rectified activation of filter o of conv layer l in the original network, each
convolution becomes W'_l[o, i] = W_l[o, i] · m_{l−1}[i] / m_l[o] and
b'_l[o] = b_l[o] / m_l[o] (m_0 = 1). The ReLU and both poolings commute with a
positive per-channel scale, so the normalised network computes the same features,
each divided by its mean: what changes is how much each layer weighs in the losses.
A filter that never fires on the images (a *dead* filter) is left as it is and
reported.

In naah (`naah.normalize`, see `docs/normalized_vgg.md`):
`normalize_weights(weights, images, size=224)` returns `NormalizedWeights`, usable
wherever weights are; `mean_activations(weights, images)` measures any network;
`write_normalized_mat` writes a MatConvNet file marked as normalised (`naah weights
normalize WEIGHTS --images DIR -o OUT.mat`); and `normalized_loss_weights(content
size)` gives the α and β of Gatys' own code for a normalised network, in naah's
losses, since the original network's α/β = 10⁻³ does not carry over (the content loss
shrinks by about 1/m², each E_l by about 1/m⁴).

Here the weights are normalised on the four images of `data/` (a handful, to show the
call; Gatys did not say which images he used: for real work take many varied
photographs), the per-layer means are plotted before and after, and Tübingen is
rendered in the style of *The Starry Night* with each network. Both runs start from
the content image, as Gatys' notebook does with the normalised network (from noise it
may need a larger α).

**What to expect** with the pretrained weights: the original network's mean
activations differ by orders of magnitude from layer to layer; after normalising,
every live filter's mean is 1 to about 10⁻⁵ (the float32 forward pass). The two renderings differ in balance
rather than in kind: the layers are weighted differently in the style loss (Gatys'
notebook calls the original network "often better for portraits", the normalised one
"can be better for landscapes"). With fixture weights a few random filters in the
deep layers are dead (the warning lists them) and the images only show that the code
runs."""),
        MODES,
        setup("format_table", "image_grid", "image_path"),
        """\
import numpy as np
from naah.normalize import mean_activations, normalize_weights, normalized_loss_weights

photos = [image_path(p) for p in ("tubingen", "starry_night", "shipwreck",
                                  "composition_vii")]
size = config.pick(full=224, fixture=96, tiny=32)  # long edge; 224: VGG's training size
original = config.vgg_weights()
normalized = normalize_weights(original, photos, size=size)  # m_l: normalized.means
after = mean_activations(normalized, photos, size=size)
normalized""",
        """\
from matplotlib.figure import Figure

def layer_mean(means):  # over the layer's live filters (a dead filter's mean is 0)
    return means[means > 0].mean() if means.any() else 0.0

layers = list(normalized.means)
x = np.arange(len(layers))
figure = Figure(figsize=(9, 3.4), layout="constrained")
ax = figure.add_subplot()
ax.bar(x - 0.2, [layer_mean(normalized.means[n]) for n in layers], 0.4, label="original")
ax.bar(x + 0.2, [layer_mean(after[n]) for n in layers], 0.4, label="normalised")
ax.set_xticks(x, layers, rotation=60)
ax.set(yscale="log", ylabel="mean rectified activation")
ax.legend()
ax.set_title(f"per-layer mean over live filters, {len(photos)} images at {size} px "
             f"({config.label})", fontsize=9)
figure.savefig(config.output("mean_activations.png"), dpi=150)
figure""",
        """\
print(format_table([
    {"layer": n, "filters": len(m), "dead": int((m == 0).sum()),
     "original mean": layer_mean(m), "normalised mean": layer_mean(after[n]),
     "max |m − 1| (live)": np.abs(after[n][m > 0] - 1).max(initial=0.0)}
    for n, m in normalized.means.items()
]))""",
        """\
content, style = image_path("tubingen"), image_path("starry_night")
shape = naah.load_image(content, long_edge=config.size).shape[:2]
# Gatys' α, β for a normalised network; conv4_2's width is the network's own
# (512 in VGG-19, fewer in the fixture weights).
alpha, beta = normalized_loss_weights(
    shape, channels=normalized.params["conv4_2"].kernel.shape[0])
print(f"normalised: α = {alpha:g}, β = {beta:.3g}; original: α = 1, β = 1e3")
settings = dict(size=config.size, iterations=config.iterations, init="content")
transfers = {"original VGG-19": config.transfer(),
             "normalised VGG-19": naah.StyleTransfer(normalized, alpha=alpha, beta=beta)}
results = {net: st.run(content, style, **settings) for net, st in transfers.items()}""",
        """\
image_grid([naah.load_image(style, long_edge=config.size),
            *(r.image for r in results.values())],
           ["style: The Starry Night", *results],
           note=f"original and normalised weights ({config.label})",
           path=config.output("transfer.png"))""",
        """\
# How each loss balances content and style: α L_content against β L_style.
rows = []
for net, st in transfers.items():
    weights, last = st.loss_weights, results[net].history[-1]
    rows.append({"network": net, "α": weights.alpha, "β": weights.beta,
                 "α·content": weights.alpha * last.content,
                 "β·style": weights.beta * last.style, "iterations": last.iteration})
print(format_table(rows))""",
    ],
    "10_styles_and_regions": [
        Markdown("""\
# Several styles, and a style per region (Gatys et al. 2017, section 4)

Gatys, Ecker, Bethge, Hertzmann & Shechtman (2017), *Controlling Perceptual Factors
in Neural Style Transfer*, mix styles and give each region of the output a style of
its own. The report left both for future work, with one proposal: "take the style of
the background of image 1 and the style of the foreground of image 2 and apply it to
the respective components of image 3". This notebook does both in naah.

**Several styles blended.** `run(content, [style_a, style_b], style_blend=(w_a,
w_b))`: the weights are normalised to sum 1 and each style layer's target is the
blend of the two styles' Gram matrices. Tübingen is rendered with *The Starry
Night* and *The Shipwreck of the Minotaur* blended (1, 0), (0.5, 0.5) and (0, 1),
side by side. A check that holds with any weights: the blend (1, 0) gives exactly
the loss of *The Starry Night* alone, iteration by iteration (both runs start from
the same seeded noise).

**The report's proposal.** Image 3 (the content) is Tübingen, split by its masks in
`data/masks/` (`SOURCES.md`): the sky is the background, the town (houses, trees,
river) the foreground. Image 1 is Hokusai's *The Great Wave off Kanagawa*, whose
background is its sky (`great_wave_sky.png`, with Mount Fuji); image 2 is *The
Starry Night*, whose foreground has no mask in `data/masks/`: here it is **the lower
half of the painting** (the village, the hills and the foot of the cypress), a mask
made in the notebook. Each region is a `naah.regions.Region(guide, style,
style_guide=..., name=...)` and the run is `run(content, None, regions=[...],
guide_mode=...)`, with guided Gram matrices (section 4). `guide_mode="simple"`
resizes each mask to every layer's grid; `"inside"` erodes it so that a position
counts for a region only where its whole receptive field lies inside: fewer
positions, none mixing sky and town. The result is shown for both, side by side.

**What to expect** with the pretrained weights: (1, 0) and (0, 1) look like the two
single-style renderings (the swirls and blues of *The Starry Night*, the browns and
rough strokes of Turner's storm), (0.5, 0.5) mixes their colours and textures. With
regions the sky takes the Great Wave's beige paper and flat sky, the town the
village's strokes; `inside` keeps the two styles apart more sharply along the
skyline, where `simple` blends them over a band as wide as the deep layers'
receptive fields. With fixture weights the images only show that the code runs."""),
        Markdown("""\
**Running it.** With the pretrained VGG-19 weights (`naah weights download`, or
`$NAAH_WEIGHTS`) the notebook makes the full-size figures: six runs of 500 L-BFGS
iterations at 512 px (four for the blends, two with regions): expect one to three
hours on a CPU. Without them the first cell says so and everything runs on small
random fixture weights at 96 px. `NAAH_NOTEBOOK_TINY=1` shrinks it further for CI
(32 px, 4 iterations). At those sizes `inside` leaves no position of the deepest
style layers in the masks, so both region runs keep only the layers that have some
(conv1_1–conv3_1 at 96 px, conv1_1 and conv2_1 at 32 px; all five at 512 px).
Figures are saved in `output/<notebook>/` (see `config.output_dir`)."""),
        setup("format_table", "image_grid", "image_path"),
        """\
import numpy as np
from naah.experiments.data import data_dir
from naah.regions import Region, guides_per_layer, load_mask

content = image_path("tubingen")
starry_night, shipwreck = image_path("starry_night"), image_path("shipwreck")
great_wave = data_dir() / "great_wave.jpg"
masks = data_dir() / "masks"
transfer = config.transfer()  # α = 1, β = 1e3; conv4_2; conv1_1 … conv5_1; L-BFGS
settings = dict(size=config.size, iterations=config.iterations)""",
        """\
# (a) Two styles, three blends, and the first style alone to compare with (1, 0).
BLENDS = ((1, 0), (0.5, 0.5), (0, 1))
blended = {blend: transfer.run(content, [starry_night, shipwreck], style_blend=blend,
                               **settings)
           for blend in BLENDS}
alone = transfer.run(content, starry_night, **settings)""",
        """\
image_grid([naah.load_image(starry_night, long_edge=config.size),
            *(r.image for r in blended.values()),
            naah.load_image(shipwreck, long_edge=config.size)],
           ["The Starry Night",
            *(f"style_blend={b}" for b in blended), "The Shipwreck"],
           note=f"two styles blended ({config.label})",
           path=config.output("style_blend.png"))""",
        """\
# Blend (1, 0) against The Starry Night alone: the total loss at every iteration.
one_zero = [r.total for r in blended[(1, 0)].history]
single = [r.total for r in alone.history]
print(f"{len(single)} history records each; final total loss: blend (1, 0) "
      f"{one_zero[-1]!r}, Starry Night alone {single[-1]!r}")
print(f"max |Δ total| over the run: {float(np.abs(np.subtract(one_zero, single)).max())}; "
      f"identical: {one_zero == single}")
print(format_table([{"style_blend": str(b), "total": r.history[-1].total,
                     "content": r.history[-1].content, "style": r.history[-1].style}
                    for b, r in blended.items()]))""",
        """\
# (b) The report's proposal. Image 3 = Tübingen: sky (background), town (foreground).
shape = naah.load_image(content, long_edge=config.size).shape[:2]
sky = load_mask(masks / "tubingen_sky.png", shape)
town = load_mask(masks / "tubingen_town.png", shape)
# Image 1 = The Great Wave: its background is its sky (with Mount Fuji).
wave_image = naah.load_image(great_wave, long_edge=config.size)
wave_sky = load_mask(masks / "great_wave_sky.png", wave_image.shape[:2])
# Image 2 = The Starry Night: no mask in data/masks/, so its foreground is taken to
# be the lower half of the painting (village, hills, foot of the cypress).
starry_image = naah.load_image(starry_night, long_edge=config.size)
starry_lower = np.zeros(starry_image.shape[:2], np.float32)
starry_lower[starry_image.shape[0] // 2:] = 1

def overlay(image, mask, colour=(255, 0, 0), opacity=0.45):  # the inside tinted
    tint = mask[..., None] * opacity
    return image.astype(np.float32) * (1 - tint) + np.asarray(colour, np.float32) * tint

image_grid([overlay(naah.load_image(content, long_edge=config.size), sky, (0, 90, 255)),
            overlay(naah.load_image(content, long_edge=config.size), town),
            overlay(wave_image, wave_sky, (0, 90, 255)),
            overlay(starry_image, starry_lower)],
           ["image 3: sky = background", "image 3: town = foreground",
            "image 1: its sky (style_guide)", "image 2: lower half (style_guide)"],
           note=f"regions and style guides, tinted ({config.label})",
           path=config.output("masks.png"))""",
        """\
# 'inside' keeps a position of a layer only where its whole receptive field lies in
# the region, and naah refuses a guide with no position left. At 512 px every guide
# keeps positions at all five style layers; at the fixture and tiny modes' sizes
# the deepest have none, so both runs use the style layers that keep some (same
# per-layer weights as the default).
guides = (sky, town, wave_sky, starry_lower)
kept = {layer: weight for layer, weight in transfer.loss_weights.style_layers.items()
        if all(guides_per_layer(g, [layer], "inside")[layer].max() > 0 for g in guides)}
print(f"style layers of both region runs: {', '.join(kept)}")
regions = [
    Region(masks / "tubingen_sky.png", great_wave,
           style_guide=masks / "great_wave_sky.png", name="background"),
    Region(masks / "tubingen_town.png", starry_night, style_guide=starry_lower,
           name="foreground"),
]
region_transfer = config.transfer(style_layers=kept)
by_mode = {mode: region_transfer.run(content, None, regions=regions, guide_mode=mode,
                                     **settings)
           for mode in ("simple", "inside")}""",
        """\
image_grid([naah.load_image(content, long_edge=config.size),
            *(r.image for r in by_mode.values())],
           ["image 3: Tübingen", *(f"guide_mode={m!r}" for m in by_mode)],
           note=f"Great Wave sky on the sky, Starry Night village on the town "
                f"({config.label})",
           path=config.output("regions.png"))""",
        """\
print(format_table([{"guide_mode": m, "total": r.history[-1].total,
                     "content": r.history[-1].content, "style": r.history[-1].style,
                     "iterations": r.history[-1].iteration}
                    for m, r in by_mode.items()]))""",
    ],
    "11_video": [
        Markdown("""\
# Video: temporal consistency (Ruder, Dosovitskiy & Brox 2016)

Stylising each frame of a clip on its own makes it flicker: every frame's
optimisation finds another local minimum, so the brush strokes jump from frame to
frame even where the scene stands still. Ruder, Dosovitskiy & Brox (2016),
*Artistic style transfer for videos*, tie each frame to the one before it through
the optical flow of the input: the frame starts from the previous result warped
along the flow, and a temporal loss γ L_temporal pulls it towards that warped result
wherever the flow can be trusted (the forward–backward consistency check).
`StyleTransfer.run_video(frames, style, ...)` does this (`naah video` on the command
line); its `temporal_weight` is γ (0 turns the loss off), `init` how each frame
starts, `passes` Ruder et al.'s multi-pass algorithm.

The clip here is made in code: a window sliding across the Tübingen photograph, a
few pixels per frame, so the true motion is known exactly (every pixel moves left by
the window's step). It is stylised twice with *The Starry Night*: each frame
independently from white noise (`init="noise", temporal_weight=0`) and with naah
video's defaults. Their **warping error** (`naah.metrics.warping_error`, Ruder et
al.'s measure) is the mean squared difference, values in [0, 1], between each
stylised frame and the previous one warped onto it, over the pixels where the flow
is trusted: 0 for a perfectly steady video. It is computed with the exact flow of
the pan and, as `run_video` reports it, with the flow naah estimated (DIS).

**What to expect:** the independent frames differ everywhere, so their warping error
is large; naah video's frames carry the strokes along with the pan, and its error is
a fraction of theirs (`benchmarks/bench_video.py` measures this on three synthetic
clips). The GIFs show it: the independent clip shimmers, naah video's slides."""),
        Markdown("""\
**Running it.** With the pretrained VGG-19 weights (`naah weights download`, or
`$NAAH_WEIGHTS`) the clip is 8 frames of 256 px, 100 L-BFGS iterations per frame
(the first frame 200), two runs: expect about an hour on a CPU. Without them the
first cell says so and everything runs on small random fixture weights at 96 px, 20
iterations per frame. `NAAH_NOTEBOOK_TINY=1` shrinks it further for CI (3 frames of
32 px, 4 iterations per frame). Figures and GIFs are saved in `output/<notebook>/`
(see `config.output_dir`)."""),
        setup("format_table", "image_grid", "image_path"),
        """\
import numpy as np
from IPython.display import Image, display
from naah.metrics import warping_error
from naah.plotting import plot_video_report

# The clip: a square window sliding right across Tübingen, `step` pixels per frame.
# Frame k shows the photograph's columns k*step ... k*step + size - 1, so the content
# moves left by `step`: the forward flow (frame k-1 -> k) is (-step, 0) everywhere,
# the backward flow (k -> k-1) is (+step, 0). flow[y, x] = (dx, dy), as naah.flow.
size = config.pick(full=256, fixture=config.size, tiny=config.size)
count = config.pick(full=8, fixture=8, tiny=3)
step = max(1, size // 48)
wide = naah.load_image(image_path("tubingen"), size=(size, size * 4 // 3))
clip = [wide[:, k * step:k * step + size].round().astype(np.uint8) for k in range(count)]
forward = np.zeros((size, size, 2), np.float32)
forward[..., 0] = -step
exact_flows = [(forward, -forward)] * (count - 1)  # (forward, backward) per frame pair
print(f"{count} frames of {size}x{size} px, panning {step} px per frame; the input's "
      f"own warping error with the exact flow: "
      f"{warping_error(clip, exact_flows).overall:.2g}")
image_grid(clip, [f"frame {k + 1}" for k in range(count)],
           note=f"the input clip ({config.label})", path=config.output("clip.png"))""",
        """\
# Two runs of the same per-frame settings (the first frame gets twice the iterations):
# independent frames from noise, and naah video's defaults (the previous result
# warped as the start, and the temporal loss with weight temporal_weight).
transfer = config.transfer()  # α = 1, β = 1e3; conv4_2; conv1_1 … conv5_1; L-BFGS
style = image_path("starry_night")
settings = dict(size=size, progress=False,
                iterations=config.pick(full=100, fixture=20, tiny=config.iterations))
runs = {
    "independent": transfer.run_video(clip, style, init="noise", temporal_weight=0,
                                      **settings),
    "naah video": transfer.run_video(clip, style, **settings),
}""",
        """\
rows = [{"method": name,
         "warping error (exact flow)": warping_error(r.frames, exact_flows).overall,
         "warping error (naah's flow)": r.warping.overall,
         "style loss, mean": float(np.mean([f.style for f in r.reports])),
         "content loss, mean": float(np.mean([f.content for f in r.reports])),
         "seconds": r.seconds["total"]}
        for name, r in runs.items()]
print(format_table(rows))
ratio = rows[1]["warping error (exact flow)"] / rows[0]["warping error (exact flow)"]
print(f"naah video's warping error is {ratio:.2g}x that of the independent frames")""",
        """\
image_grid([*runs["independent"].frames, *runs["naah video"].frames],
           [*(f"independent {k + 1}" for k in range(count)),
            *(f"naah video {k + 1}" for k in range(count))],
           columns=count, note=f"each frame alone (top), naah video (bottom) "
                               f"({config.label})",
           path=config.output("frames.png"))""",
        """\
# The two clips as GIFs (looping, 4 frames a second), shown 256 px wide.
for method, result in runs.items():
    gif = result.save(config.output(f"{method.replace(' ', '_')}.gif"), fps=4)
    print(f"{method}: {gif}")
    display(Image(filename=str(gif), width=256))""",
        """\
# Per frame: the losses of naah video's result and its warping error against the
# frame before it (measured with naah's estimated flow; its overall value dashed).
plot_video_report(runs["naah video"].reports, runs["naah video"].warping,
                  path=config.output("video_report.png"))""",
    ],
}


def build(name: str, cells: list[str]) -> nbformat.NotebookNode:
    """A notebook of the cells: Markdown where the text is a :class:`Markdown` or
    starts with '# Figure' or '**', code otherwise; cell ids are stable so
    rebuilding changes nothing."""
    notebook = new_notebook(metadata={"kernelspec": KERNEL})
    for index, source in enumerate(cells):
        markdown = isinstance(source, Markdown) or source.startswith(("# Figure", "**"))
        source = source.replace("{name}", name)
        cell = new_markdown_cell(source) if markdown else new_code_cell(source)
        cell["id"] = f"cell-{index}"
        notebook.cells.append(cell)
    return notebook


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        notebook = build(name, cells)
        nbformat.validate(notebook)
        nbformat.write(notebook, HERE / f"{name}.ipynb")
        print(f"wrote {name}.ipynb ({len(notebook.cells)} cells)")


if __name__ == "__main__":
    main()
